-- varied: every request a body picked at random from the file $BODIES (one
-- JSON body a line: the same document with other variables), with
-- `Authorization: Bearer $TOKEN` when TOKEN is set. Every answer is checked:
-- status 200, no "errors", and the Lua pattern $EXPECT found in it; the
-- count is printed last ("checked: N answers, M bad").
local threads = {}

function setup(thread)
  thread:set("seed", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  for line in io.lines(os.getenv("BODIES")) do
    if line ~= "" then bodies[#bodies + 1] = line end
  end
  expect = os.getenv("EXPECT") or ""
  headers = { ["Content-Type"] = "application/json" }
  local token = os.getenv("TOKEN")
  if token and token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  math.randomseed(os.time() * 1000 + seed)
  answers, bad = 0, 0
end

function request()
  return wrk.format("POST", nil, headers, bodies[math.random(#bodies)])
end

function response(status, _, body)
  answers = answers + 1
  if status ~= 200 or body:find('"errors"', 1, true) or not body:find(expect) then
    bad = bad + 1
  end
end

function done()
  local a, b = 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("answers")
    b = b + t:get("bad")
  end
  io.write(string.format("checked: %d answers, %d bad\n", a, b))
end
