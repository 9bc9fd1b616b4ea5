-- page: a static POST whose body is $BODY (a page read, written once by
-- bench/pages.sh), with `Authorization: Bearer $TOKEN` when TOKEN is set; no
-- per-response work, like small.lua, so that the rows compare
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
