-- many-clients: the small query from 65,536 addresses, as a trusted proxy
-- in front would name them in X-Forwarded-For; at 100k requests a second
-- each address sends one or two, so none reaches a limit of 15/s
local body = "{\"query\":\"{ catalog { name } }\"}"
local n = 0
request = function()
  n = (n + 1) % 65536
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = string.format("10.0.%d.%d", math.floor(n / 256), n % 256),
  }, body)
end
