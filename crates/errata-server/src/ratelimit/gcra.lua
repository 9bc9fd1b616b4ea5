-- GCRA (the generic cell rate algorithm) for one client, shared by every
-- instance, on Redis's clock, with leases.
--
-- KEYS[1]  the client's key; it holds the theoretical arrival time (TAT),
--          in microseconds, and expires when the client is back to a full
--          allowance.
-- ARGV[1]  the emission interval: microseconds per request, a whole number.
-- ARGV[2]  the burst: requests allowed at once.
-- ARGV[3]  need: requests that must all be allowed, or none is.
-- ARGV[4]  want: requests to take at most, for the instance to spend
--          later (a lease); at least `need`.
--
-- Returns {granted, remaining, retry_after}: granted is 0 (refused) or
-- between need and want; remaining is what is left after it; retry_after
-- is the microseconds until `need` more requests would be allowed, 0 when
-- they would be now: an instance remembers it, and asks again no sooner.
--
-- Every number stays a whole number of microseconds below 2^53, so the
-- arithmetic on Lua's doubles is exact.

-- Redis before 5 replicates scripts, not their writes, and refuses a
-- write after TIME unless told to replicate the writes.
if redis.replicate_commands then
  redis.replicate_commands()
end

local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local need = tonumber(ARGV[3])
local want = tonumber(ARGV[4])

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])

local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end

-- Each request taken moves the TAT one interval on; the bucket is full
-- when the TAT is now, and empty when it is `burst` intervals ahead.
local available = math.floor((now + burst * interval - tat) / interval)
if available < need then
  return {0, math.max(available, 0), tat + (need - burst) * interval - now}
end

-- A lease takes at most half of what is left (or `need`, when that is
-- more), so that one instance cannot empty an allowance that another
-- instance is serving too.
local granted = math.min(want, math.max(need, math.floor(available / 2)))
tat = tat + granted * interval
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.max(1, math.ceil((tat - now) / 1000)))
local remaining = available - granted
local retry_after = 0
if remaining < need then
  retry_after = tat + (need - burst) * interval - now
end
return {granted, remaining, retry_after}
