//! The helper's name table: scenario names → absolute bases, and absolute addresses back to
//! names (the protocol's relative addresses, see `protocol`'s module doc). Pure, so it is tested
//! natively.

use crate::protocol::{At, UNNAMED};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default)]
pub struct Names {
    by_name: BTreeMap<String, u64>,
    /// base → the name given last at that base (a released range reserved again under a new name
    /// reports with the new one).
    by_base: BTreeMap<u64, String>,
}

impl Names {
    /// Name `base`. A name given again moves: its old base is no longer reported under it.
    pub fn insert(&mut self, name: &str, base: u64) {
        if let Some(old) = self.by_name.insert(name.to_string(), base) {
            if self.by_base.get(&old).map(String::as_str) == Some(name) {
                self.by_base.remove(&old);
            }
        }
        self.by_base.insert(base, name.to_string());
    }

    pub fn base(&self, name: &str) -> Option<u64> {
        self.by_name.get(name).copied()
    }

    /// The absolute address an [`At`] names; `None` when its region has no name (the offset of
    /// an [`UNNAMED`] region is absolute).
    pub fn resolve(&self, at: &At) -> Option<u64> {
        if at.region == UNNAMED {
            return Some(at.offset);
        }
        Some(self.base(&at.region)?.wrapping_add(at.offset))
    }

    /// `addr` relative to the allocation named at `allocation_base` when there is one, otherwise
    /// to the named base nearest below `addr`, otherwise [`UNNAMED`] and absolute.
    pub fn relative(&self, addr: u64, allocation_base: Option<u64>) -> At {
        if let Some(name) = allocation_base.and_then(|b| self.by_base.get(&b)) {
            let base = self.by_name[name];
            debug_assert_eq!(allocation_base, Some(base), "by_base and by_name agree");
            if base <= addr {
                return At::new(name, addr - base);
            }
        }
        match self.by_base.range(..=addr).next_back() {
            Some((base, name)) => At::new(name, addr - base),
            None => At::new(UNNAMED, addr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_go_out_and_come_back_relative() {
        let mut n = Names::default();
        n.insert("a", 0x10_0000);
        n.insert("b", 0x20_0000);
        assert_eq!(n.resolve(&At::new("a", 0x1000)), Some(0x10_1000));
        assert_eq!(n.resolve(&At::new("c", 0)), None);
        assert_eq!(n.resolve(&At::new(UNNAMED, 7)), Some(7));
        assert_eq!(n.relative(0x10_1000, Some(0x10_0000)), At::new("a", 0x1000));
        // A free range after `a` (no allocation base) is named from `a`.
        assert_eq!(n.relative(0x18_0000, None), At::new("a", 0x8_0000));
        assert_eq!(n.relative(0x20_0010, None), At::new("b", 0x10));
        assert_eq!(n.relative(0x1000, None), At::new(UNNAMED, 0x1000));
        // The same base named again reports with the new name.
        n.insert("a2", 0x10_0000);
        assert_eq!(n.relative(0x10_0000, Some(0x10_0000)), At::new("a2", 0));
        // A name given again moves; its old base is reported from the nearest name below.
        n.insert("b", 0x30_0000);
        assert_eq!(n.resolve(&At::new("b", 0)), Some(0x30_0000));
        assert_eq!(
            n.relative(0x20_0010, Some(0x20_0000)),
            At::new("a2", 0x10_0010)
        );
    }
}
