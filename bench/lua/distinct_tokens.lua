-- wrk script: every request carries a different bearer token (one per line of the file given
-- after `--`), so that the server's verified-token cache never hits. The thread stops when the
-- tokens run out; the rate is timed here (wrk's own Requests/sec divides by the full -d).
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local reqs = {}
local total = 0
local sent = 0
got = 0
non200 = 0
t_first = nil
t_last = nil

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      reqs[#reqs + 1] = wrk.format("GET", wrk.path, { ["Authorization"] = "Bearer " .. line })
    end
  end
  total = #reqs
end

function request()
  if t_first == nil then t_first = now() end
  sent = sent + 1
  if sent > total then
    -- Out of tokens: stop; this request (a repeat) is never counted below.
    wrk.thread:stop()
    return reqs[total]
  end
  return reqs[sent]
end

function response(status, headers, body)
  if got >= total then return end
  got = got + 1
  if status ~= 200 then non200 = non200 + 1 end
  t_last = now()
  if got == total then wrk.thread:stop() end
end

function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    local first, last = t:get("t_first"), t:get("t_last")
    local secs = (first and last) and (last - first) or 0
    io.write(string.format("DISTINCT_TOKENS responses=%d seconds=%.6f non200=%d\n", t:get("got"), secs, t:get("non200")))
  end
end
