//! A least-recently-used map bounded by entries and by bytes.
//!
//! A count of entries alone does not bound memory when entries come from
//! clients: a thousand documents of a megabyte are a gigabyte. Each value
//! here is put with its weight, an estimate of the heap bytes it holds; the
//! map adds its own share of every entry (key, value, links) and evicts
//! the least recently used entries until the total is within the budget.
//! A value heavier than the whole budget is not kept at all.

use std::borrow::Borrow;
use std::hash::Hash;
use std::num::NonZeroUsize;

use lru::LruCache;

/// What the map costs per entry beyond its key and value: the hash table's
/// slot and the list's links, rounded up.
const ENTRY_OVERHEAD: usize = 64;

struct Weighed<V> {
    value: V,
    weight: usize,
}

/// An LRU map holding at most `entries` entries and `budget` bytes.
pub struct WeighedLru<K, V> {
    entries: LruCache<K, Weighed<V>>,
    bytes: usize,
    budget: usize,
}

impl<K: Hash + Eq, V> std::fmt::Debug for WeighedLru<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeighedLru")
            .field("entries", &self.entries.len())
            .field("bytes", &self.bytes)
            .field("budget", &self.budget)
            .finish()
    }
}

impl<K: Hash + Eq, V> WeighedLru<K, V> {
    /// An empty map for at most `entries` entries and `budget` bytes.
    pub fn new(entries: NonZeroUsize, budget: usize) -> WeighedLru<K, V> {
        WeighedLru {
            entries: LruCache::new(entries),
            bytes: 0,
            budget,
        }
    }

    /// The value for `key`, which becomes the most recently used.
    pub fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get(key).map(|w| &w.value)
    }

    /// The value for `key`, leaving the order as it is.
    pub fn peek<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.peek(key).map(|w| &w.value)
    }

    /// Removes the entry for `key`.
    pub fn pop<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let removed = self.entries.pop(key)?;
        self.bytes -= removed.weight;
        Some(removed.value)
    }

    /// Keeps `value`, whose heap bytes are `weight`, under `key`, evicting
    /// the least recently used entries to make room. Returns whether it was
    /// kept: a value heavier than the whole budget is not, and the key's
    /// previous value, which it was to replace, goes too.
    pub fn put(&mut self, key: K, value: V, weight: usize) -> bool {
        let weight = weight
            .saturating_add(std::mem::size_of::<K>() + std::mem::size_of::<V>())
            .saturating_add(ENTRY_OVERHEAD);
        self.pop(&key);
        if weight > self.budget {
            return false;
        }
        while self.entries.len() >= self.entries.cap().get() || self.bytes + weight > self.budget {
            match self.entries.pop_lru() {
                Some((_, evicted)) => self.bytes -= evicted.weight,
                None => break,
            }
        }
        self.bytes += weight;
        self.entries.put(key, Weighed { value, weight });
        true
    }

    /// Forgets every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// The bytes the entries weigh, the map's share included.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The weight the map adds to every entry of a `WeighedLru<u32, u32>`.
    const SHARE: usize = 4 + 4 + ENTRY_OVERHEAD;

    fn map(entries: usize, budget: usize) -> WeighedLru<u32, u32> {
        WeighedLru::new(NonZeroUsize::new(entries).unwrap(), budget)
    }

    #[test]
    fn a_value_heavier_than_the_budget_is_not_kept() {
        let mut m = map(10, 1000);
        assert!(m.put(1, 1, 100));
        assert!(!m.put(2, 2, 1000 - SHARE + 1));
        assert_eq!(m.peek(&2), None);
        assert_eq!(m.get(&1), Some(&1), "what was kept stays");
        assert!(!m.put(1, 10, 5000));
        assert_eq!(
            m.peek(&1),
            None,
            "a value too heavy to keep drops the one it replaces"
        );
        assert_eq!((m.entries.len(), m.bytes()), (0, 0));
        assert!(m.put(3, 3, 1000 - SHARE), "exactly the budget fits");
    }

    #[test]
    fn the_total_never_exceeds_the_budget() {
        let mut m = map(1000, 10_000);
        for i in 0..500u32 {
            let weight = (i as usize * 37) % 3000;
            m.put(i % 50, i, weight);
            assert!(m.bytes() <= 10_000, "{} after {i}", m.bytes());
            let sum: usize = m.entries.iter().map(|(_, w)| w.weight).sum();
            assert_eq!(sum, m.bytes(), "the total is the sum of the entries");
        }
        while let Some(k) = m.entries.peek_lru().map(|(k, _)| *k) {
            m.pop(&k);
        }
        assert_eq!(m.bytes(), 0);
    }

    #[test]
    fn the_least_recently_used_go_first_by_bytes_and_by_entries() {
        let mut m = map(3, 3 * (SHARE + 100));
        for k in 1..=3 {
            assert!(m.put(k, k, 100));
        }
        assert_eq!(m.get(&1), Some(&1), "1 is now the most recently used");
        assert!(m.put(4, 4, 100), "the fourth entry evicts one");
        assert_eq!(m.peek(&2), None, "the least recently used");
        assert!(m.peek(&1).is_some() && m.peek(&3).is_some() && m.peek(&4).is_some());
        assert!(m.put(5, 5, 2 * 100 + SHARE), "a heavy entry evicts two");
        assert_eq!((m.peek(&3), m.peek(&1)), (None, None));
        assert_eq!((m.peek(&4), m.peek(&5)), (Some(&4), Some(&5)));
        assert_eq!(m.entries.len(), 2);
        assert!(
            m.put(4, 40, 100),
            "replacing an entry weighs only the new value"
        );
        assert_eq!((m.peek(&4), m.peek(&5)), (Some(&40), Some(&5)));
        assert_eq!(m.bytes(), 3 * (SHARE + 100));
    }
}
