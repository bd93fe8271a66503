//! The order index of a big sorted set: an order-statistics B+ tree of element pointers.
//!
//! The tree stores element pointers in order, each beside a copy of its element's score, and
//! answers by position (rank). Ordered searches go through [`Tree::partition_point`], which
//! takes a monotone predicate (true for a prefix of the items) and returns the length of that
//! prefix. The copied score lets a search by score compare without reading the elements
//! (one cache miss each): only equal scores need the members. The owner keeps the copies
//! exact ([`Tree::replace_at`] when a score changes in place).
//!
//! - Leaves hold up to [`LEAF_CAP`] items (1 KiB each, one jemalloc size class) and
//!   are chained both ways, so range walks never climb the tree.
//! - Internal nodes hold, per child, the child pointer, the number of elements below it
//!   (ranks in O(log n)) and the child's first element (so searches compare against real
//!   elements, no copied keys). Every operation keeps these exact.
//! - Appending at either end (increasing or decreasing scores, the common case of time
//!   stamps) splits the edge leaf unevenly, so such trees end up with full leaves: about
//!   16.5 bytes of index per element, 24 on average for random insertion orders.
//! - Removal merges or rebalances a node that falls under a quarter full.

use std::ptr;

/// An element pointer (never null in the tree) and its element's score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Item {
    /// The element's score, as the element holds it.
    pub(crate) score: f64,
    /// The element.
    pub(crate) ptr: *mut u8,
}

impl Item {
    /// The filler of unused slots.
    const NONE: Item = Item { score: 0.0, ptr: ptr::null_mut() };
}

/// Items per leaf: 24 bytes of header plus 62 items of 16 bytes make 1016 bytes.
pub(crate) const LEAF_CAP: usize = 62;
const LEAF_MIN: usize = LEAF_CAP / 4;
/// Children per internal node: 8 + 31 * 32 = 1000 bytes (the 1 KiB size class).
pub(crate) const NODE_CAP: usize = 31;
const NODE_MIN: usize = NODE_CAP / 4;
/// Deepest tree a 64-bit length can need (31-ary, at least 7 children per node).
const MAX_HEIGHT: usize = 24;

#[repr(C)]
struct Leaf {
    prev: *mut Leaf,
    next: *mut Leaf,
    len: usize,
    items: [Item; LEAF_CAP],
}

#[repr(C)]
struct Node {
    len: usize,
    children: [*mut u8; NODE_CAP],
    counts: [usize; NODE_CAP],
    firsts: [Item; NODE_CAP],
}

/// Bytes of one leaf.
pub(crate) const LEAF_BYTES: usize = std::mem::size_of::<Leaf>();
/// Bytes of one internal node.
pub(crate) const NODE_BYTES: usize = std::mem::size_of::<Node>();

#[inline]
unsafe fn leaf<'a>(p: *mut u8) -> &'a mut Leaf {
    &mut *(p as *mut Leaf)
}

#[inline]
unsafe fn node<'a>(p: *mut u8) -> &'a mut Node {
    &mut *(p as *mut Node)
}

/// Number of entries (items or children) of `p`, a node of height `h`.
#[inline]
unsafe fn entries(p: *mut u8, h: usize) -> usize {
    if h == 0 {
        leaf(p).len
    } else {
        node(p).len
    }
}

/// Number of elements below `p`.
#[inline]
unsafe fn size(p: *mut u8, h: usize) -> usize {
    if h == 0 {
        leaf(p).len
    } else {
        let n = node(p);
        n.counts[..n.len].iter().sum()
    }
}

/// First element below `p` (which must not be empty).
#[inline]
unsafe fn first(p: *mut u8, h: usize) -> Item {
    if h == 0 {
        leaf(p).items[0]
    } else {
        node(p).firsts[0]
    }
}

/// Ask for every cache line of `v` at once: a binary search then finds them in cache
/// instead of missing on one line after another.
#[inline]
fn prefetch_lines(v: &[Item]) {
    for chunk in v.chunks(64 / std::mem::size_of::<Item>()) {
        crate::table::prefetch(chunk.as_ptr());
    }
}

/// Number of leading entries of `v` for which `pred` holds (`pred` is monotone).
#[inline]
fn partition(v: &[Item], pred: &mut impl FnMut(Item) -> bool) -> usize {
    let (mut lo, mut hi) = (0, v.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if pred(v[mid]) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// An order-statistics B+ tree of element pointers. It owns its nodes, not the elements.
pub(crate) struct Tree {
    root: *mut u8,
    /// 0: the root is a leaf.
    height: usize,
    len: usize,
    leaves: usize,
    nodes: usize,
}

impl Default for Tree {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        self.clear();
    }
}

/// A position in the tree: a leaf and an index in it.
#[derive(Clone, Copy)]
pub(crate) struct Cursor {
    leaf: *mut Leaf,
    idx: usize,
}

impl Cursor {
    /// The element here.
    #[inline]
    pub(crate) fn item(&self) -> Item {
        // SAFETY: cursors are only made at valid positions of a live, unmodified tree.
        unsafe { (*self.leaf).items[self.idx] }
    }

    /// Move to the next element; false (and unchanged) at the end.
    #[inline]
    pub(crate) fn next(&mut self) -> bool {
        // SAFETY: as above; leaf links are null or point at live leaves.
        unsafe {
            if self.idx + 1 < (*self.leaf).len {
                self.idx += 1;
                return true;
            }
            let n = (*self.leaf).next;
            if n.is_null() {
                return false;
            }
            self.leaf = n;
            self.idx = 0;
            true
        }
    }

    /// Move to the previous element; false (and unchanged) at the start.
    #[inline]
    pub(crate) fn prev(&mut self) -> bool {
        // SAFETY: as above.
        unsafe {
            if self.idx > 0 {
                self.idx -= 1;
                return true;
            }
            let p = (*self.leaf).prev;
            if p.is_null() {
                return false;
            }
            self.leaf = p;
            self.idx = (*p).len - 1;
            true
        }
    }
}

impl Tree {
    /// An empty tree (allocates nothing).
    pub(crate) const fn new() -> Self {
        Tree { root: ptr::null_mut(), height: 0, len: 0, leaves: 0, nodes: 0 }
    }

    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes held by the nodes, at their allocator size classes.
    pub(crate) fn node_bytes(&self) -> usize {
        self.leaves * crate::alloc::size_class(LEAF_BYTES, 8)
            + self.nodes * crate::alloc::size_class(NODE_BYTES, 8)
    }

    fn new_leaf(&mut self) -> *mut u8 {
        self.leaves += 1;
        Box::into_raw(Box::new(Leaf {
            prev: ptr::null_mut(),
            next: ptr::null_mut(),
            len: 0,
            items: [Item::NONE; LEAF_CAP],
        })) as *mut u8
    }

    fn new_node(&mut self) -> *mut u8 {
        self.nodes += 1;
        Box::into_raw(Box::new(Node {
            len: 0,
            children: [ptr::null_mut(); NODE_CAP],
            counts: [0; NODE_CAP],
            firsts: [Item::NONE; NODE_CAP],
        })) as *mut u8
    }

    unsafe fn free(&mut self, p: *mut u8, h: usize) {
        if h == 0 {
            self.leaves -= 1;
            drop(Box::from_raw(p as *mut Leaf));
        } else {
            self.nodes -= 1;
            drop(Box::from_raw(p as *mut Node));
        }
    }

    /// Free every node (the elements are the caller's).
    pub(crate) fn clear(&mut self) {
        unsafe fn free_rec(t: &mut Tree, p: *mut u8, h: usize) {
            if h > 0 {
                let n = node(p);
                for i in 0..n.len {
                    free_rec(t, n.children[i], h - 1);
                }
            }
            t.free(p, h);
        }
        if !self.root.is_null() {
            // SAFETY: the root and everything below it are live nodes of this tree.
            unsafe { free_rec(self, self.root, self.height) };
        }
        self.root = ptr::null_mut();
        self.height = 0;
        self.len = 0;
    }

    /// The element at `rank`.
    pub(crate) fn get(&self, rank: usize) -> Option<Item> {
        self.seek(rank).map(|c| c.item())
    }

    /// A cursor at `rank`.
    pub(crate) fn seek(&self, rank: usize) -> Option<Cursor> {
        if rank >= self.len {
            return None;
        }
        // SAFETY: `rank` is in range; the leaf is live.
        unsafe {
            let (p, r) = self.descend(rank, |_, _, _| {});
            Some(Cursor { leaf: p as *mut Leaf, idx: r.min(leaf(p).len.saturating_sub(1)) })
        }
    }

    /// The leaf holding `rank` (which must be `< len`) and the rank within it, found by
    /// counts; `at(node, i, r)` sees every internal node on the way, the child `i` taken and
    /// the rank `r` left within that child.
    unsafe fn descend(&self, rank: usize, mut at: impl FnMut(&mut Node, usize, usize)) -> (*mut u8, usize) {
        let mut p = self.root;
        let mut r = rank;
        // Descending by counts that are exact stays within live nodes.
        for _ in 0..self.height {
            let n = node(p);
            let mut i = 0;
            while i + 1 < n.len && r >= n.counts[i] {
                r -= n.counts[i];
                i += 1;
            }
            at(n, i, r);
            p = n.children[i];
        }
        (p, r)
    }

    /// Put `item` in place of the one at `rank` (`rank < len`), in the leaf and wherever
    /// internal nodes copy it as a child's first (an element whose score changed without
    /// moving).
    pub(crate) fn replace_at(&mut self, rank: usize, item: Item) {
        if rank >= self.len {
            return;
        }
        // SAFETY: `rank` is in range; the nodes and the leaf are live and this tree's.
        unsafe {
            let (p, r) = self.descend(rank, |n, i, r| {
                if r == 0 {
                    n.firsts[i] = item;
                }
            });
            leaf(p).items[r] = item;
        }
    }

    /// Number of leading elements for which `pred` holds; `pred` must be true for a prefix
    /// of the elements and false for the rest.
    pub(crate) fn partition_point(&self, mut pred: impl FnMut(Item) -> bool) -> usize {
        if self.len == 0 {
            return 0;
        }
        let mut p = self.root;
        let mut acc = 0;
        // SAFETY: live nodes; `firsts` hold the first element of each child.
        unsafe {
            for _ in 0..self.height {
                let n = node(p);
                prefetch_lines(&n.firsts[..n.len]);
                let k = partition(&n.firsts[..n.len], &mut pred);
                if k == 0 {
                    return acc;
                }
                acc += n.counts[..k - 1].iter().sum::<usize>();
                p = n.children[k - 1];
            }
            let l = leaf(p);
            prefetch_lines(&l.items[..l.len]);
            acc + partition(&l.items[..l.len], &mut pred)
        }
    }

    /// Insert `item` so that it gets position `rank` (`rank <= len`).
    pub(crate) fn insert_at(&mut self, rank: usize, item: Item) {
        let rank = rank.min(self.len);
        if self.root.is_null() {
            let l = self.new_leaf();
            // SAFETY: fresh leaf.
            unsafe {
                leaf(l).items[0] = item;
                leaf(l).len = 1;
            }
            self.root = l;
            self.height = 0;
            self.len = 1;
            return;
        }
        // SAFETY: the recursion only touches live nodes of this tree.
        unsafe {
            if let Some(new) = self.insert_rec(self.root, self.height, rank, item) {
                let old = self.root;
                let h = self.height;
                let r = self.new_node();
                let n = node(r);
                n.len = 2;
                n.children[0] = old;
                n.children[1] = new;
                n.counts[0] = size(old, h);
                n.counts[1] = size(new, h);
                n.firsts[0] = first(old, h);
                n.firsts[1] = first(new, h);
                self.root = r;
                self.height += 1;
            }
        }
        self.len += 1;
    }

    /// Insert into the subtree `p` of height `h`; returns the new right sibling if `p`
    /// split.
    unsafe fn insert_rec(&mut self, p: *mut u8, h: usize, rank: usize, item: Item) -> Option<*mut u8> {
        if h == 0 {
            let l = leaf(p);
            if l.len < LEAF_CAP {
                leaf_insert(l, rank, item);
                return None;
            }
            let new = self.new_leaf();
            let nl = leaf(new);
            if rank == LEAF_CAP && l.next.is_null() {
                // Appending at the far right: keep this leaf full.
                nl.items[0] = item;
                nl.len = 1;
            } else if rank == 0 && l.prev.is_null() {
                // Prepending at the far left: this leaf keeps only the new item.
                nl.items = l.items;
                nl.len = LEAF_CAP;
                l.items[0] = item;
                l.len = 1;
            } else {
                let mid = LEAF_CAP.div_ceil(2);
                let moved = LEAF_CAP - mid;
                nl.items[..moved].copy_from_slice(&l.items[mid..]);
                nl.len = moved;
                l.len = mid;
                if rank <= mid {
                    leaf_insert(l, rank, item);
                } else {
                    leaf_insert(nl, rank - mid, item);
                }
            }
            nl.prev = p as *mut Leaf;
            nl.next = l.next;
            if !l.next.is_null() {
                (*l.next).prev = new as *mut Leaf;
            }
            l.next = new as *mut Leaf;
            return Some(new);
        }
        let n = node(p);
        let mut r = rank;
        let mut i = 0;
        while i + 1 < n.len && r > n.counts[i] {
            r -= n.counts[i];
            i += 1;
        }
        let child = n.children[i];
        match self.insert_rec(child, h - 1, r, item) {
            None => {
                n.counts[i] += 1;
                n.firsts[i] = first(child, h - 1);
                None
            }
            Some(new) => {
                n.counts[i] = size(child, h - 1);
                n.firsts[i] = first(child, h - 1);
                let entry = (new, size(new, h - 1), first(new, h - 1));
                self.node_insert(p, i + 1, entry)
            }
        }
    }

    /// Insert child `entry` at index `at` of internal node `p`; returns the new right
    /// sibling if `p` split.
    unsafe fn node_insert(
        &mut self,
        p: *mut u8,
        at: usize,
        entry: (*mut u8, usize, Item),
    ) -> Option<*mut u8> {
        let n = node(p);
        if n.len < NODE_CAP {
            node_insert_entry(n, at, entry);
            return None;
        }
        let new = self.new_node();
        let nn = node(new);
        let mid = NODE_CAP.div_ceil(2);
        let moved = NODE_CAP - mid;
        nn.children[..moved].copy_from_slice(&n.children[mid..]);
        nn.counts[..moved].copy_from_slice(&n.counts[mid..]);
        nn.firsts[..moved].copy_from_slice(&n.firsts[mid..]);
        nn.len = moved;
        n.len = mid;
        if at <= mid {
            node_insert_entry(n, at, entry);
        } else {
            node_insert_entry(nn, at - mid, entry);
        }
        Some(new)
    }

    /// Remove and return the element at `rank`.
    pub(crate) fn remove_at(&mut self, rank: usize) -> Option<Item> {
        if rank >= self.len {
            return None;
        }
        // SAFETY: the recursion only touches live nodes of this tree.
        unsafe {
            let item = self.remove_rec(self.root, self.height, rank);
            self.len -= 1;
            while self.height > 0 && node(self.root).len == 1 {
                let old = self.root;
                self.root = node(old).children[0];
                self.free(old, self.height);
                self.height -= 1;
            }
            if self.height == 0 && leaf(self.root).len == 0 {
                let old = self.root;
                self.free(old, 0);
                self.root = ptr::null_mut();
            }
            Some(item)
        }
    }

    unsafe fn remove_rec(&mut self, p: *mut u8, h: usize, rank: usize) -> Item {
        if h == 0 {
            let l = leaf(p);
            let item = l.items[rank];
            l.items.copy_within(rank + 1..l.len, rank);
            l.len -= 1;
            return item;
        }
        let n = node(p);
        let mut r = rank;
        let mut i = 0;
        while i + 1 < n.len && r >= n.counts[i] {
            r -= n.counts[i];
            i += 1;
        }
        let child = n.children[i];
        let item = self.remove_rec(child, h - 1, r);
        n.counts[i] -= 1;
        let min = if h - 1 == 0 { LEAF_MIN } else { NODE_MIN };
        if entries(child, h - 1) < min && n.len > 1 {
            self.rebalance(p, i, h - 1);
        } else if entries(child, h - 1) > 0 {
            n.firsts[i] = first(child, h - 1);
        }
        item
    }

    /// Child `i` of `p` (children of height `ch`) is under-full: merge it with a sibling, or
    /// even the two out.
    unsafe fn rebalance(&mut self, p: *mut u8, i: usize, ch: usize) {
        let n = node(p);
        let (li, ri) = if i > 0 { (i - 1, i) } else { (0, 1) };
        let (a, b) = (n.children[li], n.children[ri]);
        let (la, lb) = (entries(a, ch), entries(b, ch));
        let cap = if ch == 0 { LEAF_CAP } else { NODE_CAP };
        if la + lb <= cap {
            if ch == 0 {
                let (x, y) = (leaf(a), leaf(b));
                x.items[la..la + lb].copy_from_slice(&y.items[..lb]);
                x.len = la + lb;
                x.next = y.next;
                if !y.next.is_null() {
                    (*y.next).prev = x as *mut Leaf;
                }
            } else {
                let (x, y) = (node(a), node(b));
                x.children[la..la + lb].copy_from_slice(&y.children[..lb]);
                x.counts[la..la + lb].copy_from_slice(&y.counts[..lb]);
                x.firsts[la..la + lb].copy_from_slice(&y.firsts[..lb]);
                x.len = la + lb;
            }
            self.free(b, ch);
            n.counts[li] += n.counts[ri];
            node_remove_entry(n, ri);
            n.firsts[li] = first(a, ch);
            return;
        }
        let want_a = (la + lb) / 2;
        if ch == 0 {
            let (x, y) = (leaf(a), leaf(b));
            if la < want_a {
                let k = want_a - la;
                x.items[la..want_a].copy_from_slice(&y.items[..k]);
                y.items.copy_within(k..lb, 0);
            } else {
                let k = la - want_a;
                y.items.copy_within(0..lb, k);
                y.items[..k].copy_from_slice(&x.items[want_a..la]);
            }
            x.len = want_a;
            y.len = la + lb - want_a;
        } else {
            let (x, y) = (node(a), node(b));
            if la < want_a {
                let k = want_a - la;
                x.children[la..want_a].copy_from_slice(&y.children[..k]);
                x.counts[la..want_a].copy_from_slice(&y.counts[..k]);
                x.firsts[la..want_a].copy_from_slice(&y.firsts[..k]);
                y.children.copy_within(k..lb, 0);
                y.counts.copy_within(k..lb, 0);
                y.firsts.copy_within(k..lb, 0);
            } else {
                let k = la - want_a;
                y.children.copy_within(0..lb, k);
                y.counts.copy_within(0..lb, k);
                y.firsts.copy_within(0..lb, k);
                y.children[..k].copy_from_slice(&x.children[want_a..la]);
                y.counts[..k].copy_from_slice(&x.counts[want_a..la]);
                y.firsts[..k].copy_from_slice(&x.firsts[want_a..la]);
            }
            x.len = want_a;
            y.len = la + lb - want_a;
        }
        n.counts[li] = size(a, ch);
        n.counts[ri] = size(b, ch);
        n.firsts[li] = first(a, ch);
        n.firsts[ri] = first(b, ch);
    }

    /// Check every invariant; `less(a, b)` orders elements. For tests.
    #[cfg(test)]
    pub(crate) fn check(&self, less: impl Fn(Item, Item) -> bool) {
        unsafe fn rec(
            p: *mut u8,
            h: usize,
            is_root: bool,
            out: &mut Vec<Item>,
            leaves: &mut Vec<*mut Leaf>,
        ) -> usize {
            if h == 0 {
                let l = leaf(p);
                assert!(l.len >= 1 && l.len <= LEAF_CAP);
                out.extend_from_slice(&l.items[..l.len]);
                leaves.push(p as *mut Leaf);
                return l.len;
            }
            let n = node(p);
            assert!(n.len >= if is_root { 2 } else { 2.max(NODE_MIN - 1) } && n.len <= NODE_CAP);
            let mut total = 0;
            for i in 0..n.len {
                let before = out.len();
                let c = rec(n.children[i], h - 1, false, out, leaves);
                assert_eq!(c, n.counts[i], "count of child {i}");
                assert_eq!(out[before], n.firsts[i], "first of child {i}");
                total += c;
            }
            total
        }
        let mut out = Vec::new();
        let mut leaves = Vec::new();
        if self.root.is_null() {
            assert_eq!(self.len, 0);
            return;
        }
        let total = unsafe { rec(self.root, self.height, true, &mut out, &mut leaves) };
        assert_eq!(total, self.len);
        assert_eq!(leaves.len(), self.leaves);
        for w in out.windows(2) {
            assert!(less(w[0], w[1]), "order");
        }
        unsafe {
            assert!((*leaves[0]).prev.is_null());
            assert!((*leaves[leaves.len() - 1]).next.is_null());
            for w in leaves.windows(2) {
                assert_eq!((*w[0]).next, w[1]);
                assert_eq!((*w[1]).prev, w[0]);
            }
        }
    }
}

#[inline]
unsafe fn leaf_insert(l: &mut Leaf, at: usize, item: Item) {
    l.items.copy_within(at..l.len, at + 1);
    l.items[at] = item;
    l.len += 1;
}

#[inline]
unsafe fn node_insert_entry(n: &mut Node, at: usize, (child, count, first): (*mut u8, usize, Item)) {
    n.children.copy_within(at..n.len, at + 1);
    n.counts.copy_within(at..n.len, at + 1);
    n.firsts.copy_within(at..n.len, at + 1);
    n.children[at] = child;
    n.counts[at] = count;
    n.firsts[at] = first;
    n.len += 1;
}

#[inline]
unsafe fn node_remove_entry(n: &mut Node, at: usize) {
    n.children.copy_within(at + 1..n.len, at);
    n.counts.copy_within(at + 1..n.len, at);
    n.firsts.copy_within(at + 1..n.len, at);
    n.len -= 1;
}

const _: () = assert!(LEAF_BYTES <= 1024);
const _: () = assert!(NODE_BYTES <= 1024);
const _: () = assert!(MAX_HEIGHT > 0);

#[cfg(test)]
mod tests {
    use super::*;

    // Items are small integers disguised as pointers, with the integer as their score.
    fn it(v: usize) -> Item {
        Item { score: v as f64, ptr: (v * 8 + 8) as *mut u8 }
    }
    fn val(i: Item) -> usize {
        assert_eq!(i.score, ((i.ptr as usize - 8) / 8) as f64, "score copied with its item");
        (i.ptr as usize - 8) / 8
    }

    fn model_check(t: &Tree, model: &[usize]) {
        t.check(|a, b| val(a) < val(b));
        assert_eq!(t.len(), model.len());
        let mut got = Vec::new();
        if let Some(mut c) = t.seek(0) {
            loop {
                got.push(val(c.item()));
                if !c.next() {
                    break;
                }
            }
        }
        assert_eq!(got, model);
        if let Some(mut c) = t.seek(model.len().saturating_sub(1)) {
            let mut back = vec![val(c.item())];
            while c.prev() {
                back.push(val(c.item()));
            }
            back.reverse();
            assert_eq!(back, model);
        }
    }

    fn insert_sorted(t: &mut Tree, model: &mut Vec<usize>, v: usize) {
        let r = t.partition_point(|x| val(x) < v);
        assert_eq!(r, model.partition_point(|&x| x < v));
        t.insert_at(r, it(v));
        model.insert(r, v);
    }

    #[test]
    fn sequential_appends_fill_leaves() {
        let mut t = Tree::new();
        let mut m = Vec::new();
        for v in 0..10_000 {
            insert_sorted(&mut t, &mut m, v);
        }
        model_check(&t, &m);
        assert!(t.leaves <= 10_000 / LEAF_CAP + 1, "{} leaves", t.leaves);
        let mut t2 = Tree::new();
        let mut m2 = Vec::new();
        for v in (0..10_000).rev() {
            insert_sorted(&mut t2, &mut m2, v);
        }
        model_check(&t2, &m2);
        assert!(t2.leaves <= 10_000 / LEAF_CAP + 2, "{} leaves", t2.leaves);
        for r in [0, 1, 60, 61, 62, 5000, 9999] {
            assert_eq!(t.get(r).map(val), Some(r));
            assert_eq!(t2.get(r).map(val), Some(r));
        }
        assert_eq!(t.get(10_000), None);
    }

    #[test]
    fn random_inserts_and_removes_match_a_vec() {
        let mut rng = crate::table::Rng::new(7);
        let mut t = Tree::new();
        let mut m: Vec<usize> = Vec::new();
        for round in 0..30_000u32 {
            let grow = (round / 5000).is_multiple_of(2);
            if m.is_empty() || rng.below(10) < if grow { 7 } else { 3 } {
                let v = rng.below(1_000_000);
                if m.binary_search(&v).is_err() {
                    insert_sorted(&mut t, &mut m, v);
                }
            } else {
                let r = rng.below(m.len());
                assert_eq!(t.remove_at(r).map(val), Some(m.remove(r)));
            }
            if round.is_multiple_of(997) {
                model_check(&t, &m);
            }
        }
        model_check(&t, &m);
        while !m.is_empty() {
            let r = rng.below(m.len());
            assert_eq!(t.remove_at(r).map(val), Some(m.remove(r)));
            if m.len().is_multiple_of(500) {
                model_check(&t, &m);
            }
        }
        assert_eq!(t.leaves + t.nodes, 0);
        assert!(t.remove_at(0).is_none());
    }

    #[test]
    fn replacing_an_item_updates_the_copies_of_it_as_a_first() {
        let mut t = Tree::new();
        for v in 0..20_000 {
            t.insert_at(v, it(v));
        }
        for r in 0..20_000 {
            let mut x = t.get(r).unwrap_or(Item::NONE);
            x.score += 0.5;
            t.replace_at(r, x);
        }
        // Every copy, leaf or first, has the new score (check compares firsts with leaves).
        t.check(|a, b| a.score < b.score);
        assert!((0..20_000).all(|r| t.get(r).is_some_and(|x| x.score == r as f64 + 0.5)));
    }

    #[test]
    fn removing_prefixes_and_suffixes() {
        let mut t = Tree::new();
        let mut m = Vec::new();
        for v in 0..5000 {
            insert_sorted(&mut t, &mut m, v * 3);
        }
        for _ in 0..2000 {
            assert_eq!(t.remove_at(0).map(val), Some(m.remove(0)));
        }
        model_check(&t, &m);
        for _ in 0..2000 {
            let last = m.len() - 1;
            assert_eq!(t.remove_at(last).map(val), Some(m.remove(last)));
        }
        model_check(&t, &m);
        for _ in 0..900 {
            assert_eq!(t.remove_at(100).map(val), Some(m.remove(100)));
        }
        model_check(&t, &m);
        assert_eq!(t.partition_point(|x| val(x) < m[50]), 50);
        assert_eq!(t.partition_point(|_| true), m.len());
        assert_eq!(t.partition_point(|_| false), 0);
    }
}
