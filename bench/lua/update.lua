-- update: pages.update as the bearer of $TOKEN, every request another page
-- (the ids in the file $IDS, one a line, taken in turn from a random start)
-- and new content, so that each write renders, records a version and
-- changes the tree, the search index and the caches. Every answer is
-- checked (status 200, `"succeeded":true`); the count is printed last
-- ("checked: N answers, M bad").
local threads = {}

function setup(thread)
  thread:set("seed", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  ids = {}
  for line in io.lines(os.getenv("IDS")) do
    if line ~= "" then ids[#ids + 1] = line end
  end
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
  }
  math.randomseed(os.time() * 1000 + seed)
  n = math.random(#ids)
  stamp = os.time()
  answers, bad = 0, 0
end

function request()
  n = n + 1
  local id = ids[n % #ids + 1]
  local body = string.format(
    '{"query":"mutation($id: Int!, $content: String) { pages { update(id: $id, content: $content) ' ..
    '{ responseResult { succeeded errorCode message } } } }","variables":{"id":%s,"content":' ..
    '"# Revision %d-%d\\n\\nThis page explains how to deploy and restore with errata.\\n\\n' ..
    '## Details\\n\\nRevision %d of page %s.\\n"}}',
    id, stamp, n, n, id)
  return wrk.format("POST", nil, headers, body)
end

function response(status, _, body)
  answers = answers + 1
  if status ~= 200 or not body:find('"succeeded":true', 1, true) then
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
