-- bench/api/wrk.lua: the request wrk sends to nudge serve and to
-- bench/api/app.py alike (bench/bench.sh's api phase). From the
-- environment: BENCH_ROUTE get (a notification by a random id in
-- 1..BENCH_MAXID), list (a page of 50), post (a new SMS for a random
-- one of BENCH_PATIENTS patients, due far ahead so no tick sends it) or
-- batch (BENCH_BATCH such SMS in one POST /v1/notifications:batch, the
-- body made once per thread); BENCH_KEY the bearer key.
local route = os.getenv("BENCH_ROUTE") or "get"
local maxid = tonumber(os.getenv("BENCH_MAXID") or "1")
local patients = tonumber(os.getenv("BENCH_PATIENTS") or "16")
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_KEY") or "")
local post_headers = {
  ["Authorization"] = wrk.headers["Authorization"],
  ["Content-Type"] = "application/json",
}

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

local function item()
  return string.format(
    '{"patient_id": %d, "template": "prescription_ready", "channel": "sms", '
      .. '"due_at": "2030-01-01T09:00:00Z"}', math.random(1, patients))
end

local batch_body
function init(args)
  math.randomseed(os.time() * 100 + (seed or 0))
  if route == "batch" then
    local items = {}
    for i = 1, tonumber(os.getenv("BENCH_BATCH") or "1000") do
      items[i] = item()
    end
    batch_body = '{"items": [' .. table.concat(items, ", ") .. ']}'
  end
end

function request()
  if route == "get" then
    return wrk.format("GET", "/v1/notifications/" .. math.random(1, maxid))
  elseif route == "list" then
    return wrk.format("GET", "/v1/notifications?limit=50")
  end
  if route == "batch" then
    return wrk.format("POST", "/v1/notifications:batch", post_headers, batch_body)
  end
  return wrk.format("POST", "/v1/notifications", post_headers, item())
end

-- Every answer's status, so the table can say what the non-2xx were
-- (a 503 under load reads differently from a 400).
statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local all = {}
local setup0 = setup
function setup(thread)
  setup0(thread)
  table.insert(all, thread)
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(all) do
    for k, v in pairs(t:get("statuses")) do
      total[k] = (total[k] or 0) + v
    end
  end
  for k, v in pairs(total) do
    io.write(string.format("status %d: %d\n", k, v))
  end
end
