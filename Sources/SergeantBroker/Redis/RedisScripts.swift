// MARK: - RedisScripts

/// The Lua scripts of the Redis connector, in one place: each states its KEYS and ARGV.
/// Scripts run only where plain commands cannot do the step atomically (due delayed tasks,
/// the recovered list, taking over a dead worker's records).
enum RedisScripts {
    /// Lua that fills `items` up to `wanted` with queued items, then due delayed ones.
    /// KEYS[1]: queue, KEYS[2]: delayed set; ARGV[1]: count, ARGV[2]: now.
    static let popQueuedThenDue = """
        items = redis.call('LPOP', KEYS[1], wanted)
        if not items then items = {} end
        if #items < wanted then
            local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'LIMIT', 0, wanted - #items)
            if #due > 0 then
                redis.call('ZREMRANGEBYRANK', KEYS[2], 0, #due - 1)
                for _, item in ipairs(due) do items[#items + 1] = item end
            end
        end
        """

    /// Pops queued items first, then due delayed ones, in one round trip.
    static let popScript = LuaScript("""
        local wanted = tonumber(ARGV[1])
        local items
        \(RedisScripts.popQueuedThenDue)
        return items
        """)

    /// Acknowledges the worker's previous batch (clears its processing list), pops and
    /// records the items in the processing list, in one atomic step and one round trip.
    /// Tasks recovered from dead workers come first, one at a time, so that a poison task is
    /// never again in flight beside others. The script is safe to resend after a lost reply
    /// (the connection retries after a Redis restart): a batch id it has already served
    /// returns that batch again instead of acknowledging it unseen.
    /// After the items, the reply holds one integer: how many tasks the recovered list still
    /// has (``collect(_:into:queue:)`` skips it; ``pop(queue:count:inFlightFor:)`` reads it). A resent call that
    /// returns the batch again has no such integer.
    /// KEYS: queue, delayed set, processing list, processing set, batch id, recovered list.
    /// ARGV: count, now, worker, batch id.
    static let popInFlightScript = LuaScript("""
        if redis.call('GET', KEYS[5]) == ARGV[4] then
            return redis.call('LRANGE', KEYS[3], 0, -1)
        end
        redis.call('DEL', KEYS[3])
        redis.call('SET', KEYS[5], ARGV[4])
        local wanted = tonumber(ARGV[1])
        local items = {}
        local recovered = redis.call('LPOP', KEYS[6])
        if recovered then
            items[1] = recovered
        else
            \(RedisScripts.popQueuedThenDue)
        end
        if #items > 0 then
            for first = 1, #items, 1000 do
                redis.call('RPUSH', KEYS[3], unpack(items, first, math.min(first + 999, #items)))
            end
            redis.call('SADD', KEYS[4], ARGV[3])
        end
        items[#items + 1] = redis.call('LLEN', KEYS[6])
        return items
        """)

    /// Takes over the in-flight list of one worker, atomically: only when its heartbeat is
    /// gone (unless the caller knows it is dead, ARGV[2] == "dead": its supervisor reaped it).
    /// Its in-flight list and what it had itself taken over and not pushed back yet are
    /// appended to the claimant's reclaimed list, which holds them until they are safely pushed
    /// back; so a resent script (after a lost reply), a failure halfway, or a claimant that
    /// dies too never drops them.
    /// KEYS: its processing list, its heartbeat, the processing set, its batch id, the
    /// claimant's reclaimed list, its own reclaimed list. ARGV: its worker id, "dead" or "expired".
    static let reclaimScript = LuaScript("""
        if ARGV[2] ~= 'dead' and redis.call('EXISTS', KEYS[2]) == 1 then
            return 0
        end
        local moved = 0
        for _, source in ipairs({KEYS[1], KEYS[6]}) do
            local items = redis.call('LRANGE', source, 0, -1)
            for first = 1, #items, 1000 do
                redis.call('RPUSH', KEYS[5], unpack(items, first, math.min(first + 999, #items)))
            end
            moved = moved + #items
        end
        redis.call('DEL', KEYS[1], KEYS[4], KEYS[6])
        redis.call('SREM', KEYS[3], ARGV[1])
        return moved
        """)

    /// The async executor's pop (``RedisConnector/popAdding(_:count:inFlightFor:alone:)``):
    /// like ``popInFlightScript`` but the worker's in-flight list is kept, the new items are
    /// appended to it. A recovered task (from a dead worker) is taken only when the worker has
    /// nothing else running (ARGV[5] == "1") and then alone, so a poison task does not take
    /// its neighbours' lives with it; while recovered tasks wait, a busy worker gets nothing
    /// (it finishes what it runs first). The reply's last element says which: 0 plain items,
    /// -1 one recovered task, N > 0 nothing popped, N recovered tasks wait. Safe to resend
    /// after a lost reply: the batch id key holds `ID:N` (`ID:1r` for a recovered task) once
    /// batch ID ran, and a resent call returns the list's last N items again.
    /// KEYS: queue, delayed set, processing list, processing set, batch id, recovered list.
    /// ARGV: count, now, worker, batch id, alone ("1" or "0").
    static let popAddingInFlightScript = LuaScript("""
        local prefix = ARGV[4] .. ':'
        local last = redis.call('GET', KEYS[5])
        if last and string.sub(last, 1, #prefix) == prefix then
            local rest = string.sub(last, #prefix + 1)
            local served = tonumber(string.match(rest, '^%d+'))
            local again = {}
            if served > 0 then again = redis.call('LRANGE', KEYS[3], -served, -1) end
            again[#again + 1] = string.find(rest, 'r') and -1 or 0
            return again
        end
        local items = {}
        local marker = 0
        local waiting = redis.call('LLEN', KEYS[6])
        if waiting > 0 then
            if ARGV[5] ~= '1' then return {waiting} end
            items[1] = redis.call('LPOP', KEYS[6])
            marker = -1
        else
            local wanted = tonumber(ARGV[1])
            \(RedisScripts.popQueuedThenDue)
        end
        if #items > 0 then
            for first = 1, #items, 1000 do
                redis.call('RPUSH', KEYS[3], unpack(items, first, math.min(first + 999, #items)))
            end
            redis.call('SADD', KEYS[4], ARGV[3])
        end
        redis.call('SET', KEYS[5], prefix .. #items .. (marker == -1 and 'r' or ''))
        items[#items + 1] = marker
        return items
        """)
}
