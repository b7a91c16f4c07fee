# expect: ps7-only 2 ?:
$mode = $in.strict ? 'strict' : 'loose'
