//! The helper binary's allocator: power-of-two size classes with free lists, carved from one
//! region mapped (MAP_NORESERVE) at the first allocation, before the helper fences its own
//! mappings. It never calls `brk`, so the scenario's `brk` moves a heap the helper does not use
//! (glibc's malloc would grow `[heap]` with brk and crash when a scenario shrinks it), and it
//! maps nothing after start-up, so no helper mapping lands among the scenario's.
//! docs/known-differences.md ("The helper's own memory").

use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, Ordering};

/// The region: enough for any helper (a request or a reply is a few hundred bytes, a /proc file
/// read at start a few KiB), small enough that mode 2 could charge it after an `exec`.
const REGION_BYTES: usize = 64 << 20;
const MIN_CLASS: u32 = 4; // 16 bytes
const CLASSES: usize = 27; // up to 2^26 = the region

struct State {
    base: usize,
    next: usize,
    free: [usize; CLASSES],
}

pub struct HelperAlloc {
    lock: AtomicBool,
    state: UnsafeCell<State>,
}

// SAFETY: every access to `state` happens with `lock` held.
unsafe impl Sync for HelperAlloc {}

impl HelperAlloc {
    pub const fn new() -> HelperAlloc {
        HelperAlloc {
            lock: AtomicBool::new(false),
            state: UnsafeCell::new(State {
                base: 0,
                next: 0,
                free: [0; CLASSES],
            }),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        while self
            .lock
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        // SAFETY: the lock is held, so this is the only reference.
        let r = f(unsafe { &mut *self.state.get() });
        self.lock.store(false, Ordering::Release);
        r
    }
}

impl Default for HelperAlloc {
    fn default() -> Self {
        HelperAlloc::new()
    }
}

fn class_of(layout: Layout) -> Option<usize> {
    let n = layout.size().max(layout.align()).max(1 << MIN_CLASS);
    let shift = n.next_power_of_two().trailing_zeros();
    let c = (shift - MIN_CLASS) as usize;
    (c < CLASSES).then_some(c)
}

unsafe impl GlobalAlloc for HelperAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(c) = class_of(layout) else {
            return std::ptr::null_mut();
        };
        let size = 1usize << (c as u32 + MIN_CLASS);
        self.with(|s| {
            if s.free[c] != 0 {
                let p = s.free[c];
                // SAFETY: a freed block of this class holds the next free block's address.
                s.free[c] = unsafe { *(p as *const usize) };
                return p as *mut u8;
            }
            if s.base == 0 {
                // SAFETY: a new anonymous mapping; it replaces nothing.
                let p = unsafe {
                    libc::mmap(
                        std::ptr::null_mut(),
                        REGION_BYTES,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                        -1,
                        0,
                    )
                };
                if p == libc::MAP_FAILED {
                    return std::ptr::null_mut();
                }
                s.base = p as usize;
                s.next = s.base;
            }
            // Blocks are aligned to their size, so any alignment up to the size holds.
            let start = s.next.next_multiple_of(size);
            if start + size > s.base + REGION_BYTES {
                return std::ptr::null_mut();
            }
            s.next = start + size;
            start as *mut u8
        })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(c) = class_of(layout) else { return };
        self.with(|s| {
            // SAFETY: the block is at least 16 bytes and aligned; it is ours again.
            unsafe { *(ptr as *mut usize) = s.free[c] };
            s.free[c] = ptr as usize;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_reused_and_distinct() {
        let a = HelperAlloc::new();
        let l = Layout::from_size_align(100, 8).unwrap();
        // SAFETY: layouts of non-zero size; every block is freed with its own layout.
        unsafe {
            let p = a.alloc(l);
            let q = a.alloc(l);
            assert!(!p.is_null() && p != q);
            assert_eq!(p as usize % 128, 0);
            a.dealloc(p, l);
            assert_eq!(a.alloc(l), p, "a freed block is reused");
            let big = Layout::from_size_align(3 << 20, 4096).unwrap();
            let b = a.alloc(big);
            assert_eq!(b as usize % (4 << 20), 0);
            assert!(a
                .alloc(Layout::from_size_align(REGION_BYTES * 2, 8).unwrap())
                .is_null());
        }
    }
}
