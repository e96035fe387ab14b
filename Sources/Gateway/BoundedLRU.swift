/// A dictionary that holds at most `capacity` entries and forgets the least recently used one to make room: O(1)
/// lookup, update and eviction (a doubly linked list over array slots). Not thread-safe: keep it inside a lock.
struct BoundedLRU<Key: Hashable, Value> {
    private struct Slot {
        var key: Key
        var value: Value
        var newer: Int?
        var older: Int?
    }

    let capacity: Int
    private var slots: [Slot] = []
    private var index: [Key: Int] = [:]
    /// Most and least recently used slots.
    private var newest: Int?
    private var oldest: Int?

    init(capacity: Int) {
        precondition(capacity >= 1, "an LRU holds at least one entry")
        self.capacity = capacity
    }

    var count: Int { index.count }

    /// The value of `key` (marks it as used).
    mutating func value(for key: Key) -> Value? {
        guard let slot = index[key] else { return nil }
        touch(slot)
        return slots[slot].value
    }

    /// Sets `key`'s value (marks it as used); evicts the least recently used entry when full.
    mutating func set(_ value: Value, for key: Key) {
        if let slot = index[key] {
            slots[slot].value = value
            touch(slot)
            return
        }
        let slot: Int
        if slots.count < capacity {
            slot = slots.count
            slots.append(Slot(key: key, value: value))
        } else {
            // Reuse the least recently used slot.
            slot = oldest!
            unlink(slot)
            index[slots[slot].key] = nil
            slots[slot] = Slot(key: key, value: value)
        }
        index[key] = slot
        pushNewest(slot)
    }

    /// Forgets `key`.
    mutating func remove(_ key: Key) {
        guard let slot = index.removeValue(forKey: key) else { return }
        unlink(slot)
        if index.isEmpty {
            slots.removeAll(keepingCapacity: true)
            newest = nil
            oldest = nil
            return
        }
        if slot == slots.count - 1 {
            slots.removeLast()
        } else {
            // Move the last slot into the hole so that slots stay dense.
            let last = slots.count - 1
            slots[slot] = slots[last]
            slots.removeLast()
            index[slots[slot].key] = slot
            if let newer = slots[slot].newer { slots[newer].older = slot } else { newest = slot }
            if let older = slots[slot].older { slots[older].newer = slot } else { oldest = slot }
        }
    }

    private mutating func touch(_ slot: Int) {
        guard newest != slot else { return }
        unlink(slot)
        pushNewest(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let (newer, older) = (slots[slot].newer, slots[slot].older)
        if let newer { slots[newer].older = older } else { newest = older }
        if let older { slots[older].newer = newer } else { oldest = newer }
        slots[slot].newer = nil
        slots[slot].older = nil
    }

    private mutating func pushNewest(_ slot: Int) {
        slots[slot].older = newest
        slots[slot].newer = nil
        if let newest { slots[newest].newer = slot }
        newest = slot
        if oldest == nil { oldest = slot }
    }
}
