-- wrk script of the load bench (bench/README.md "load"): one GraphQL workload per run, chosen by the
-- environment (wrk passes no arguments to init before the threads start):
--   LOAD_WORKLOAD  mytweets | createtweet | retweet
--   LOAD_TOKENS    file of access tokens, one a line (mytweets and createtweet use the first; retweet uses
--                  them all, each thread its own share, so every (user, tweet) pair is a first retweet)
--   LOAD_TWEETS    file of tweet ids to retweet, one a line
-- Counts per thread what wrk does not: responses other than 200, 503s, responses carrying GraphQL errors and
-- INTERNAL errors; done() prints one RESULT line that bench/load/run reads.

local threads = {}
local thread_count = 0

local function lines(path)
  local out = {}
  if path == nil or path == "" then return out end
  for line in io.lines(path) do
    if line ~= "" then out[#out + 1] = line end
  end
  return out
end

function setup(thread)
  thread:set("index", thread_count)
  thread_count = thread_count + 1
  threads[#threads + 1] = thread
end

function init(args)
  workload = os.getenv("LOAD_WORKLOAD")
  tokens = lines(os.getenv("LOAD_TOKENS"))
  tweets = lines(os.getenv("LOAD_TWEETS"))
  stride = tonumber(os.getenv("LOAD_THREADS") or "1")
  sent = 0
  non200 = 0
  unavailable = 0
  with_errors = 0
  ok_with_errors = 0
  internal = 0
  if #tokens == 0 then error("LOAD_TOKENS names no tokens") end
  if workload == "retweet" and #tweets == 0 then error("LOAD_TWEETS names no tweets") end
end

local function post(token, body)
  return wrk.format("POST", "/graphql", {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/graphql-response+json, application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

function request()
  sent = sent + 1
  if workload == "mytweets" then
    return post(tokens[1], '{"query":"{ myTweets { nodes { id text author { handle } } } }"}')
  elseif workload == "createtweet" then
    return post(tokens[1], string.format(
      '{"query":"mutation($t: String!) { createTweet(input: {text: $t}) { tweet { id } } }","variables":{"t":"load %d-%d"}}',
      index, sent))
  else
    -- Users index, index + stride, ... belong to this thread; the pairs run through every user for a tweet,
    -- then the next tweet, so none repeats within a run of #tokens * #tweets / stride requests.
    local own = math.floor((#tokens - 1 - index) / stride) + 1
    local k = sent - 1
    local user = index + (k % own) * stride + 1
    local tweet = math.floor(k / own) % #tweets + 1
    return post(tokens[user], string.format(
      '{"query":"mutation($id: ID!) { retweet(input: {tweetId: $id}) { tweet { id } } }","variables":{"id":"%s"}}',
      tweets[tweet]))
  end
end

function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
  if status == 503 then unavailable = unavailable + 1 end
  if body and body:find('"errors"', 1, true) then
    with_errors = with_errors + 1
    if status == 200 then ok_with_errors = ok_with_errors + 1 end
    if body:find('"INTERNAL"', 1, true) then internal = internal + 1 end
  end
end

function done(summary, latency, requests)
  local totals = { non200 = 0, unavailable = 0, with_errors = 0, ok_with_errors = 0, internal = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d non200=%d unavailable=%d graphql_errors=%d ok_with_errors=%d internal=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    totals.non200, totals.unavailable, totals.with_errors, totals.ok_with_errors, totals.internal,
    e.connect + e.read + e.write + e.timeout))
end
