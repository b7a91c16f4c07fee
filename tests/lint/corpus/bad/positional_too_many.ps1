# expect: positional 2 Copy-Item
Copy-Item 'a.txt' 'b.txt' 'c.txt'
