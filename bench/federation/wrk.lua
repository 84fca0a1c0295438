-- wrk script of the federation bench: POSTs one GraphQL request body and checks every response.
--   wrk ... -s wrk.lua -- BODY_FILE EXPECTED_FILE [RATE]
-- BODY_FILE is sent as application/json. A response counts as a mismatch unless its status is 200 and its body is
-- byte for byte EXPECTED_FILE ("-" checks the status only). With RATE (requests/s, all connections together) each
-- request waits for its slot of a fixed schedule, so the load is a fixed rate as long as the connections can carry
-- it. done() prints one JSON line, prefixed "wrk-result ", for bench.mjs.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } chirp_timespec;
  int clock_gettime(int clk_id, chirp_timespec *tp);
]]
local ts = ffi.new("chirp_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local content = f:read("*a")
  f:close()
  return content
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local expected
local interval
local next_slot
checked, mismatches, bad_status, first_bad = 0, 0, 0, ""

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/graphql-response+json, application/json"
  wrk.body = read_file(args[1])
  if args[2] and args[2] ~= "-" then
    expected = read_file(args[2])
  end
  local rate = tonumber(args[3] or "0")
  if rate and rate > 0 then
    -- wrk runs each thread's connections on one event loop, so one schedule per thread; the bench uses one thread.
    interval = 1000 / rate
  end
end

function delay()
  if not interval then
    return 0
  end
  local now = now_ms()
  if not next_slot then
    next_slot = now
  end
  local wait = next_slot - now
  next_slot = next_slot + interval
  if wait < 0 then
    return 0
  end
  return wait
end

function response(status, headers, body)
  checked = checked + 1
  if status ~= 200 then
    bad_status = bad_status + 1
    mismatches = mismatches + 1
  elseif expected and body ~= expected then
    mismatches = mismatches + 1
  else
    return
  end
  if first_bad == "" then
    first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 300)
  end
end

local function json_text(s)
  return (string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end))
end

function done(summary, latency, requests)
  local total_checked, total_mismatches, total_bad_status, bad = 0, 0, 0, ""
  for _, thread in ipairs(threads) do
    total_checked = total_checked + thread:get("checked")
    total_mismatches = total_mismatches + thread:get("mismatches")
    total_bad_status = total_bad_status + thread:get("bad_status")
    if bad == "" then
      bad = thread:get("first_bad")
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'wrk-result {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"timeouts":%d,"status_errors":%d,"checked":%d,"mismatches":%d,"bad_status":%d,' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d},"first_bad":"%s"}\n',
    summary.requests, summary.duration, summary.bytes, errors.connect, errors.read, errors.write, errors.timeout,
    errors.status, total_checked, total_mismatches, total_bad_status, latency.mean, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max, json_text(bad)))
end
