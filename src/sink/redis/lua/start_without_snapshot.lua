redis.call('HSET', KEYS[1], 'position', ARGV[1], 'snapshot', 'done', 'slot', ARGV[2])
return 1
