# expect: ps7-only 2 ??
$name = $in.name ?? 'default'
