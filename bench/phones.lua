-- wrk script of the phones benchmark: one operation per wrk run.
--
-- Arguments after "--": the operation, then name=value pairs.
--   get, update   ids=FILE (one phone uuid a line, picked at random)
--   path          path=PATH (a GET of PATH, query string included)
--   register      prefixes=P1,P2,... threads=N (six-digit US prefixes, each
--                 with 10000 line numbers; wrk thread k sends the numbers
--                 k, k+N, k+2N, ... of that range, so no number repeats)
-- The API key comes from the BENCH_API_KEY environment variable, so that it
-- stays out of the process list. done() prints one line that starts with
-- "wrk-result " and contains the results as JSON, latencies in microseconds.

local LINES_PER_PREFIX = 10000
local next_thread_index = 0

function setup(thread)
   thread:set("thread_index", next_thread_index)
   next_thread_index = next_thread_index + 1
end

local operation
local options = {}
local ids = {}
local prefixes = {}
local sent = 0
local json_headers = {}

local function split(text, separator)
   local parts = {}
   for part in string.gmatch(text, "[^" .. separator .. "]+") do
      parts[#parts + 1] = part
   end
   return parts
end

local function read_ids(path)
   local file = assert(io.open(path, "r"))
   for line in file:lines() do
      if #line > 0 then
         ids[#ids + 1] = line
      end
   end
   file:close()
   assert(#ids > 0, "no phone uuid in " .. path)
end

function init(args)
   operation = args[1]
   for index = 2, #args do
      local name, value = string.match(args[index], "^([%w_]+)=(.*)$")
      options[name] = value
   end
   if options.ids then
      read_ids(options.ids)
   end
   if options.prefixes then
      prefixes = split(options.prefixes, ",")
   end
   math.randomseed(os.time() + 7919 * (thread_index or 0))
   local key = os.getenv("BENCH_API_KEY")
   if key then
      wrk.headers["Authorization"] = "Bearer " .. key
   end
   for name, value in pairs(wrk.headers) do
      json_headers[name] = value
   end
   json_headers["Content-Type"] = "application/json"
end

local function random_phone_path()
   return "/api/phones/" .. ids[math.random(#ids)]
end

local function next_number()
   local threads = tonumber(options.threads)
   local position = sent * threads + thread_index
   local capacity = #prefixes * LINES_PER_PREFIX
   -- Past the capacity, numbers repeat and the server returns 409 Conflict.
   position = position % capacity
   local prefix = prefixes[math.floor(position / LINES_PER_PREFIX) + 1]
   return string.format("+1%s%04d", prefix, position % LINES_PER_PREFIX), position
end

local function register()
   local number, position = next_number()
   local body = string.format(
      '{"number": "%s", "name": "Benchmark line %d", "sipTrunk": "sip.example.com", '
         .. '"sipTrunkUser": "bench", "sipTrunkPassword": "bench-password"}',
      number, position)
   return wrk.format("POST", "/api/phones", json_headers, body)
end

local function update()
   local body = string.format('{"name": "Renamed line %d-%d"}', thread_index, sent)
   return wrk.format("PATCH", random_phone_path(), json_headers, body)
end

function request()
   local built
   if operation == "get" then
      built = wrk.format("GET", random_phone_path())
   elseif operation == "update" then
      built = update()
   elseif operation == "register" then
      built = register()
   else
      built = wrk.format("GET", options.path)
   end
   sent = sent + 1
   return built
end

function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      'wrk-result {"requests": %d, "duration_us": %d, "bytes": %d, '
         .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, '
         .. '"timeout": %d}, "latency_us": {"p50": %d, "p90": %d, "p99": %d, '
         .. '"mean": %.1f, "max": %d}}\n',
      summary.requests, summary.duration, summary.bytes,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.mean, latency.max))
end
