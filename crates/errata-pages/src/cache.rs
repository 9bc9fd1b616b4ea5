//! Pages as last read, so that reading a page is no database round trip.
//! Every write this process makes clears it, other instances' writes clear
//! it through change notices, and an entry is trusted for a few seconds
//! only, for writes no notice announces (the command line on SQLite).

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lru::LruCache;

use crate::Page;

/// How long an entry is trusted without a notice.
const FRESH: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Entry {
    page: Arc<Page>,
    read_at: Instant,
    bytes: usize,
}

#[derive(Debug)]
struct Inner {
    by_place: LruCache<(String, String), Entry>,
    bytes: usize,
}

/// Read pages, bounded by entries and bytes.
#[derive(Debug)]
pub(crate) struct PageCache {
    inner: std::sync::Mutex<Inner>,
    max_bytes: usize,
    /// Bumped by every clear: a read that began before a clear is not kept.
    generation: AtomicU64,
}

impl PageCache {
    pub(crate) fn new(entries: usize, max_bytes: usize) -> PageCache {
        PageCache {
            inner: std::sync::Mutex::new(Inner {
                by_place: LruCache::new(
                    NonZeroUsize::new(entries.max(1)).unwrap_or(NonZeroUsize::MIN),
                ),
                bytes: 0,
            }),
            max_bytes,
            generation: AtomicU64::new(0),
        }
    }

    /// The generation a read starts in; give it to [`PageCache::put`].
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn get(&self, locale: &str, path: &str) -> Option<Arc<Page>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let key = (locale.to_owned(), path.to_owned());
        let entry = inner.by_place.get(&key)?;
        if entry.read_at.elapsed() > FRESH {
            let bytes = entry.bytes;
            inner.by_place.pop(&key);
            inner.bytes -= bytes;
            return None;
        }
        Some(Arc::clone(&entry.page))
    }

    /// Keeps `page`, read in generation `since`, unless the cache was
    /// cleared meanwhile or the page is too large to keep.
    pub(crate) fn put(&self, since: u64, page: Arc<Page>) {
        let bytes = page.content.len() + page.render.len() + page.toc.len() + 512;
        if bytes > self.max_bytes / 8 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::Acquire) != since {
            return;
        }
        let key = (page.locale.clone(), page.path.clone());
        let entry = Entry {
            page,
            read_at: Instant::now(),
            bytes,
        };
        if let Some((_, old)) = inner.by_place.push(key, entry) {
            inner.bytes -= old.bytes;
        }
        inner.bytes += bytes;
        while inner.bytes > self.max_bytes {
            match inner.by_place.pop_lru() {
                Some((_, old)) => inner.bytes -= old.bytes,
                None => break,
            }
        }
    }

    pub(crate) fn clear(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        inner.by_place.clear();
        inner.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(path: &str, size: usize) -> Arc<Page> {
        Arc::new(Page {
            id: 1,
            locale: "en".into(),
            path: path.into(),
            hash: String::new(),
            title: String::new(),
            description: String::new(),
            is_private: false,
            is_published: true,
            private_ns: None,
            publish_start: None,
            publish_end: None,
            content: "x".repeat(size),
            render: String::new(),
            toc: String::new(),
            content_type: "markdown".into(),
            editor: "markdown".into(),
            script_css: String::new(),
            script_js: String::new(),
            author_id: 1,
            creator_id: 1,
            created_at: 0,
            updated_at: 0,
            tags: Vec::new(),
        })
    }

    #[test]
    fn a_read_from_before_a_clear_is_not_kept() {
        let cache = PageCache::new(10, 1 << 20);
        let since = cache.generation();
        cache.clear();
        cache.put(since, page("a", 10));
        assert!(cache.get("en", "a").is_none());
        cache.put(cache.generation(), page("a", 10));
        assert!(cache.get("en", "a").is_some());
    }

    #[test]
    fn bytes_are_bounded() {
        let cache = PageCache::new(1000, 64 * 1024);
        for n in 0..100 {
            cache.put(cache.generation(), page(&format!("p{n}"), 4000));
        }
        let inner = cache.inner.lock().unwrap();
        assert!(inner.bytes <= 64 * 1024);
        assert!(inner.by_place.len() < 100);
    }
}
