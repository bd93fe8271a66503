//! SORT and SORT_RO, with Redis 7.0.15's semantics (`sort.c`): BY pattern (a constant
//! pattern means "don't sort"; `key->field` reads a hash field), GET pattern (`#` is the
//! element itself), LIMIT offset count, ASC|DESC, ALPHA and STORE (a list), on lists, sets
//! and sorted sets, with Redis's special cases: a list or sorted set that is not sorted
//! keeps its own order (reversed by DESC, cut by LIMIT before anything is read), a set that
//! is not sorted but STOREd is sorted ALPHA, and a packed sorted set is converted to its
//! big encoding (`skiplist`) by SORT, as Redis's `zsetConvert` does.
//!
//! Numeric sorting reads weights with C's `strtod` (whole C string, no overflow, not NaN;
//! a missing weight counts as 0) and breaks ties by comparing the elements' bytes; ALPHA
//! compares like Redis's `strcoll` in the C locale (up to the first NUL byte) and, with
//! STORE, byte for byte. Sorting uses ports of glibc's `qsort` (a stable merge sort) and of
//! Redis's `pqsort` (with BY and a LIMIT), so ties come out in Redis's order.
//!
//! Patterns can name any key, so both commands run with the keyspace to themselves
//! (`exclusive`): the source is read under its stripe lock, then every pattern lookup locks
//! the stripe of the key it reads, and the whole command stays atomic.
//!
//! This module also holds the two sorting algorithms GEO uses: [`glibc_qsort`] and
//! [`pqsort`].

use std::cmp::Ordering;

use brim_engine::list::{End, List};
use brim_engine::packed::{self, Elem};
use brim_engine::set::SetRef;
use brim_engine::zset::{ZRef, ZSet};
use brim_engine::{NewValue, Object, PackedKind, SetExpire, StrRef, ValueRef};

use crate::args::c_str;
use crate::args::{is, parse_i64, NOT_INTEGER, SYNTAX, WRONGTYPE};
use crate::ctx::Ctx;
use crate::lists::{limit as list_limit, list_view};
use crate::notify::{class, key_ready, keyspace_event};
use crate::table::{exclusive, Registration};

/// SORT and SORT_RO.
pub const COMMANDS: &[Registration] = &[exclusive("sort", sort), exclusive("sort_ro", sort_ro)];

/// `ERR One or more scores can't be converted into double`.
const NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

// ---------------------------------------------------------------------------------------
// Sorting algorithms, reproducing the C ones element move for element move.
// ---------------------------------------------------------------------------------------

/// glibc 2.36's `qsort`: a top-down merge sort (`msort_with_tmp`) that takes from the left
/// run while `cmp(left, right) <= 0`. Stable; gives glibc's order even for a comparator
/// that is not a total order.
pub fn glibc_qsort<T>(v: &mut Vec<T>, cmp: impl Fn(&T, &T) -> i32) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    let mut tmp = vec![0usize; n];
    let vals: &Vec<T> = v;
    msort(&mut idx, &mut tmp, &|a, b| match (vals.get(a), vals.get(b)) {
        (Some(x), Some(y)) => cmp(x, y),
        _ => 0,
    });
    let mut old: Vec<Option<T>> = std::mem::take(v).into_iter().map(Some).collect();
    v.extend(idx.iter().filter_map(|&i| old.get_mut(i).and_then(Option::take)));
}

fn msort(b: &mut [usize], tmp: &mut [usize], cmp: &dyn Fn(usize, usize) -> i32) {
    let n = b.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    let n2 = n - n1;
    {
        let (b1, b2) = b.split_at_mut(n1);
        msort(b1, tmp, cmp);
        msort(b2, tmp, cmp);
    }
    let (mut i, mut j, mut k) = (0, 0, 0);
    while i < n1 && j < n2 {
        if cmp(b[i], b[n1 + j]) <= 0 {
            tmp[k] = b[i];
            i += 1;
        } else {
            tmp[k] = b[n1 + j];
            j += 1;
        }
        k += 1;
    }
    while i < n1 {
        tmp[k] = b[i];
        i += 1;
        k += 1;
    }
    // What is left of the right run is already in place.
    b[..k].copy_from_slice(&tmp[..k]);
}

/// Redis's `pqsort` (Bentley & McIlroy's quicksort that only sorts the parts overlapping
/// positions `lrange..=rrange`), with the same comparisons and swaps.
pub fn pqsort<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> i32, lrange: i64, rrange: i64) {
    let n = v.len();
    pq(v, 0, n, &cmp, lrange, rrange);
}

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> i32) -> usize {
    if cmp(&v[a], &v[b]) < 0 {
        if cmp(&v[b], &v[c]) < 0 {
            b
        } else if cmp(&v[a], &v[c]) < 0 {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) > 0 {
        b
    } else if cmp(&v[a], &v[c]) < 0 {
        a
    } else {
        c
    }
}

/// Whether the `m` elements from `s` overlap the wanted range (the C code's pointer test).
fn overlaps(s: usize, m: usize, l: i64, r: i64) -> bool {
    let (s, e) = (s as i64, (s + m) as i64);
    !((l < s && r < s) || (l >= e && r >= e))
}

fn pq<T>(v: &mut [T], mut a: usize, mut n: usize, cmp: &impl Fn(&T, &T) -> i32, l: i64, r: i64) {
    loop {
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && cmp(&v[pl - 1], &v[pl]) > 0 {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let mut pa = a + 1;
        let mut pb = pa;
        let mut pc = a + n - 1;
        let mut pd = pc;
        loop {
            while pb <= pc {
                let c = cmp(&v[pb], &v[a]);
                if c > 0 {
                    break;
                }
                if c == 0 {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let c = cmp(&v[pc], &v[a]);
                if c < 0 {
                    break;
                }
                if c == 0 {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let k = (pa - a).min(pb - pa);
        for i in 0..k {
            v.swap(a + i, pb - k + i);
        }
        let k = (pd - pc).min(pn - pd - 1);
        for i in 0..k {
            v.swap(pb + i, pn - k + i);
        }
        let k = pb - pa;
        if k > 1 && overlaps(a, k, l, r) {
            pq(v, a, k, cmp, l, r);
        }
        let k = pd - pc;
        if k > 1 {
            a = pn - k;
            n = k;
            if overlaps(a, n, l, r) {
                continue;
            }
        }
        return;
    }
}

// ---------------------------------------------------------------------------------------
// Pattern lookups.
// ---------------------------------------------------------------------------------------

/// The text of an element.
fn text(e: Elem<'_>) -> Vec<u8> {
    e.to_vec()
}

/// C's `strtod` over the C string of `s`: whether it is a valid SORT weight (the whole C
/// string consumed, no `ERANGE`, not NaN) and its value.
fn strtod_weight(s: &[u8]) -> (f64, bool) {
    let s = c_str(s);
    let mut buf = Vec::with_capacity(s.len() + 1);
    buf.extend_from_slice(s);
    buf.push(0);
    let start = buf.as_ptr() as *const libc::c_char;
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `buf` is NUL-terminated and outlives the call; strtod reads up to the NUL and
    // stores a pointer into `buf` in `end`; errno is this thread's.
    unsafe {
        *libc::__errno_location() = 0;
        let v = libc::strtod(start, &mut end);
        let erange = *libc::__errno_location() == libc::ERANGE;
        let consumed = (end as usize).saturating_sub(start as usize);
        (v, consumed == s.len() && !erange && !v.is_nan())
    }
}

/// The value Redis's `lookupKeyByPattern` finds for `subst`: `#` is `subst` itself;
/// otherwise the first `*` is replaced by `subst` and the string at that key (or, after
/// `->`, the hash field at that key) is read, counting the keyspace hit or miss.
fn lookup_by_pattern(ctx: &Ctx, pattern: &[u8], subst: &[u8]) -> Option<Vec<u8>> {
    if pattern.first() == Some(&b'#') && pattern.get(1).is_none_or(|&b| b == 0) {
        return Some(subst.to_vec());
    }
    let cpat = c_str(pattern);
    let p = cpat.iter().position(|&b| b == b'*')?;
    let after = cpat.get(p + 1..).unwrap_or_default();
    let arrow = after.windows(2).position(|w| w == b"->").map(|i| p + 1 + i);
    let field = match arrow {
        Some(f) if f + 2 < cpat.len() => Some(pattern.get(f + 2..).unwrap_or_default()),
        _ => None,
    };
    let fieldlen = field.map_or(0, |f| f.len());
    let postfixlen = pattern.len() - (p + 1) - if fieldlen > 0 { fieldlen + 2 } else { 0 };
    let mut key = Vec::with_capacity(p + subst.len() + postfixlen);
    key.extend_from_slice(pattern.get(..p).unwrap_or_default());
    key.extend_from_slice(subst);
    key.extend_from_slice(pattern.get(p + 1..p + 1 + postfixlen).unwrap_or_default());

    let acc = ctx.acc;
    let mut s = ctx.db().lock(&key);
    let Some(e) = s.get(&key, &acc) else {
        ctx.hit_or_miss(&key, false);
        return None;
    };
    ctx.hit_or_miss(&key, true);
    match (field, e.value()) {
        (None, ValueRef::Str(StrRef::Int(n))) => Some(n.to_string().into_bytes()),
        (None, ValueRef::Str(StrRef::Bytes(b))) => Some(b.to_vec()),
        (Some(f), ValueRef::Packed(PackedKind::Hash, b)) => {
            let mut it = packed::iter(b);
            while let (Some((_, k)), Some((_, v))) = (it.next(), it.next()) {
                if k.eq_bytes(f) {
                    return Some(text(v));
                }
            }
            None
        }
        (Some(f), ValueRef::Obj(Object::Hash(h))) => h.get(f).map(<[u8]>::to_vec),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// SORT.
// ---------------------------------------------------------------------------------------

/// One element being sorted (Redis's `redisSortObject`).
struct SortObj {
    obj: Vec<u8>,
    score: f64,
    cmpobj: Option<Vec<u8>>,
}

/// C's `strcmp` of the C strings of `a` and `b` (what `strcoll` is in the C locale).
fn strcmp(a: &[u8], b: &[u8]) -> Ordering {
    c_str(a).cmp(c_str(b))
}

fn sign(o: Ordering) -> i32 {
    match o {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

/// The sort order in force (Redis's `server.sort_*` globals).
#[derive(Clone, Copy)]
struct SortFlags {
    desc: bool,
    alpha: bool,
    bypattern: bool,
    store: bool,
}

/// Redis's `sortCompare`.
fn sort_compare(f: SortFlags, a: &SortObj, b: &SortObj) -> i32 {
    let cmp = if !f.alpha {
        if a.score > b.score {
            1
        } else if a.score < b.score {
            -1
        } else {
            sign(a.obj.cmp(&b.obj))
        }
    } else if f.bypattern {
        match (&a.cmpobj, &b.cmpobj) {
            (None, None) => 0,
            (None, Some(_)) => -1,
            (Some(_), None) => 1,
            (Some(x), Some(y)) if f.store => sign(x.cmp(y)),
            (Some(x), Some(y)) => sign(strcmp(x, y)),
        }
    } else if f.store {
        sign(a.obj.cmp(&b.obj))
    } else {
        sign(strcmp(&a.obj, &b.obj))
    };
    if f.desc {
        -cmp
    } else {
        cmp
    }
}

/// The elements of the value to sort, as SORT loads them.
enum Source {
    Missing,
    List,
    Set,
    ZSet,
}

/// The parsed SORT arguments.
struct SortArgs<'a> {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    store: Option<&'a [u8]>,
    sortby: Option<&'a [u8]>,
    dontsort: bool,
    gets: Vec<&'a [u8]>,
}

/// Parse SORT's options as `sortCommandGeneric`, writing the error reply on failure.
fn parse_args<'a>(ctx: &mut Ctx, args: &[&'a [u8]], readonly: bool) -> Option<SortArgs<'a>> {
    let mut a = SortArgs {
        desc: false,
        alpha: false,
        limit_start: 0,
        limit_count: -1,
        store: None,
        sortby: None,
        dontsort: false,
        gets: Vec::new(),
    };
    let opt = |arg: &[u8], w: &str| is(c_str(arg), w);
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let arg = args[j];
        if opt(arg, "asc") {
            a.desc = false;
        } else if opt(arg, "desc") {
            a.desc = true;
        } else if opt(arg, "alpha") {
            a.alpha = true;
        } else if opt(arg, "limit") && left >= 2 {
            match (parse_i64(args[j + 1]), parse_i64(args[j + 2])) {
                (Some(s), Some(c)) => {
                    a.limit_start = s;
                    a.limit_count = c;
                }
                _ => {
                    ctx.error(NOT_INTEGER);
                    return None;
                }
            }
            j += 2;
        } else if !readonly && opt(arg, "store") && left >= 1 {
            a.store = Some(args[j + 1]);
            j += 1;
        } else if opt(arg, "by") && left >= 1 {
            a.sortby = Some(args[j + 1]);
            if !c_str(args[j + 1]).contains(&b'*') {
                a.dontsort = true;
            }
            j += 1;
        } else if opt(arg, "get") && left >= 1 {
            a.gets.push(args[j + 1]);
            j += 1;
        } else {
            ctx.error(SYNTAX);
            return None;
        }
        j += 1;
    }
    Some(a)
}

/// Load the elements of `key` as SORT does, converting a packed sorted set to `skiplist`.
/// `range` is `(start, count, desc)` for the direct load of an unsorted list or sorted set.
/// `Err` on a wrong type.
fn load(ctx: &Ctx, key: &[u8]) -> Result<(Source, Vec<Vec<u8>>), ()> {
    let acc = ctx.acc;
    let mut s = ctx.db().lock(key);
    let kind = match s.get(key, &acc) {
        None => {
            ctx.hit_or_miss(key, false);
            return Ok((Source::Missing, Vec::new()));
        }
        Some(e) => {
            ctx.hit_or_miss(key, true);
            let v = e.value();
            if list_view(v).is_some() {
                Source::List
            } else if SetRef::of(v).is_some() {
                Source::Set
            } else if ZRef::of(v).is_some() {
                Source::ZSet
            } else {
                return Err(());
            }
        }
    };
    if let Source::ZSet = kind {
        // Redis's `zsetConvert(sortval, OBJ_ENCODING_SKIPLIST)`.
        if let Some(mut e) = s.get_mut(key, &acc.no_touch()) {
            if let ValueRef::Packed(PackedKind::ZSet, b) = e.value() {
                let z = ZSet::from_packed(b);
                e.convert(NewValue::Obj(Box::new(Object::ZSet(z))));
            }
        }
    }
    let mut out = Vec::new();
    if let Some(e) = s.get(key, &acc.no_touch()) {
        let v = e.value();
        if let Some(l) = list_view(v) {
            out.reserve_exact(l.len());
            l.for_each(|el| {
                out.push(text(el));
                true
            });
        } else if let Some(set) = SetRef::of(v) {
            out.reserve_exact(set.len());
            set.for_each(|el| out.push(text(el)));
        } else if let Some(z) = ZRef::of(v) {
            out.reserve_exact(z.len());
            z.for_each(false, |m, _| out.push(text(m)));
        }
    }
    Ok((kind, out))
}

/// Store `items` as a new list at `key` (deleting the key when empty). Returns whether a
/// key was deleted.
fn store_list(ctx: &Ctx, key: &[u8], items: &[Vec<u8>]) -> bool {
    let acc = ctx.acc;
    let mut s = ctx.db().lock(key);
    if items.is_empty() {
        return s.remove(key, &acc);
    }
    let limit = list_limit(ctx);
    let mut l = List::new();
    for it in items {
        l.push(End::Tail, packed::elem_of(it), limit);
    }
    if l.packable(limit, false) {
        s.set(key, NewValue::Packed(PackedKind::List, &l.first_chunk_bytes()), SetExpire::Clear, &acc);
    } else {
        s.set(key, NewValue::Obj(Box::new(Object::List(l))), SetExpire::Clear, &acc);
    }
    false
}

fn sort(ctx: &mut Ctx, args: &[&[u8]]) {
    sort_generic(ctx, args, false)
}

fn sort_ro(ctx: &mut Ctx, args: &[&[u8]]) {
    sort_generic(ctx, args, true)
}

/// Redis's `sortCommandGeneric`.
fn sort_generic(ctx: &mut Ctx, args: &[&[u8]], readonly: bool) {
    let Some(mut a) = parse_args(ctx, args, readonly) else { return };
    let Ok((kind, elems)) = load(ctx, args[1]) else {
        ctx.error(WRONGTYPE);
        return;
    };
    if a.dontsort && matches!(kind, Source::Set) && a.store.is_some() {
        a.dontsort = false;
        a.alpha = true;
        a.sortby = None;
    }
    let total = elems.len() as i64;
    let mut vectorlen = total;
    let mut start = a.limit_start.max(0).min(vectorlen);
    let limit_count = a.limit_count.max(-1).min(vectorlen);
    let mut end = if limit_count < 0 { vectorlen - 1 } else { start + limit_count - 1 };
    if start >= vectorlen {
        start = vectorlen - 1;
        end = vectorlen - 2;
    }
    if end >= vectorlen {
        end = vectorlen - 1;
    }
    let ordered = matches!(kind, Source::List | Source::ZSet);
    if ordered && a.dontsort && (start != 0 || end != vectorlen - 1) {
        vectorlen = end - start + 1;
    }

    // Load the vector.
    let mut vector: Vec<SortObj> = if ordered && a.dontsort {
        let mut picked = Vec::new();
        if end >= start || matches!(kind, Source::ZSet) {
            let n = usize::try_from(vectorlen).unwrap_or(0);
            let first = usize::try_from(start).unwrap_or(0);
            if a.desc {
                let from = usize::try_from(total - start - 1).unwrap_or(0);
                picked.extend(elems.iter().take(from + 1).rev().take(n).cloned());
            } else {
                picked.extend(elems.iter().skip(first).take(n).cloned());
            }
            end -= start;
            start = 0;
        }
        picked
    } else {
        elems
    }
    .into_iter()
    .map(|obj| SortObj { obj, score: 0.0, cmpobj: None })
    .collect();

    // Weights and sorting.
    let mut conversion_error = false;
    if !a.dontsort {
        for so in vector.iter_mut() {
            let byval = match a.sortby {
                Some(pat) => match lookup_by_pattern(ctx, pat, &so.obj) {
                    Some(v) => v,
                    None => continue,
                },
                None => so.obj.clone(),
            };
            if a.alpha {
                if a.sortby.is_some() {
                    so.cmpobj = Some(byval);
                }
            } else {
                let (v, ok) = strtod_weight(&byval);
                so.score = v;
                if !ok {
                    conversion_error = true;
                }
            }
        }
        let flags = SortFlags {
            desc: a.desc,
            alpha: a.alpha,
            bypattern: a.sortby.is_some(),
            store: a.store.is_some(),
        };
        if !conversion_error {
            let cmp = |x: &SortObj, y: &SortObj| sort_compare(flags, x, y);
            if a.sortby.is_some() && (start != 0 || end != vectorlen - 1) {
                pqsort(&mut vector, cmp, start, end);
            } else {
                glibc_qsort(&mut vector, cmp);
            }
        }
    }

    let span = (end - start + 1).max(0) as usize;
    let outputlen = if a.gets.is_empty() { span } else { a.gets.len() * span };
    if conversion_error {
        ctx.error(NOT_DOUBLE);
        return;
    }
    let first = usize::try_from(start).unwrap_or(0);
    let chosen = vector.get(first..).unwrap_or_default().iter().take(span);
    match a.store {
        None => {
            ctx.out.array(outputlen);
            for so in chosen {
                if a.gets.is_empty() {
                    ctx.out.bulk(&so.obj);
                }
                for pat in &a.gets {
                    match lookup_by_pattern(ctx, pat, &so.obj) {
                        Some(v) => ctx.out.bulk(&v),
                        None => ctx.out.null(),
                    }
                }
            }
        }
        Some(dst) => {
            let mut items: Vec<Vec<u8>> = Vec::with_capacity(outputlen);
            for so in chosen {
                if a.gets.is_empty() {
                    items.push(so.obj.clone());
                }
                for pat in &a.gets {
                    items.push(lookup_by_pattern(ctx, pat, &so.obj).unwrap_or_default());
                }
            }
            let deleted = store_list(ctx, dst, &items);
            ctx.out.int(outputlen as i64);
            if !items.is_empty() {
                keyspace_event(ctx, class::LIST, "sortstore", dst);
                key_ready(ctx, dst);
            } else if deleted {
                keyspace_event(ctx, class::GENERIC, "del", dst);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pqsort_sorts_the_wanted_range() {
        let orig: Vec<i32> = (0..200).map(|i| (i * 7919) % 211).collect();
        let mut full = orig.clone();
        full.sort();
        for (l, r) in [(0i64, 9i64), (50, 60), (190, 199), (0, 199), (5, 4)] {
            let mut v = orig.clone();
            pqsort(&mut v, |a, b| sign(a.cmp(b)), l, r);
            if r >= l {
                assert_eq!(&v[l as usize..=r as usize], &full[l as usize..=r as usize]);
            }
        }
    }

    #[test]
    fn merge_sort_is_stable() {
        let mut v: Vec<(i32, usize)> = (0..100).map(|i| ((i * 37 % 10) as i32, i)).collect();
        glibc_qsort(&mut v, |a, b| sign(a.0.cmp(&b.0)));
        for w in v.windows(2) {
            assert!(w[0].0 < w[1].0 || (w[0].0 == w[1].0 && w[0].1 < w[1].1));
        }
    }

    #[test]
    fn weights_parse_like_strtod() {
        assert_eq!(strtod_weight(b"1.5"), (1.5, true));
        assert_eq!(strtod_weight(b" 2"), (2.0, true));
        assert_eq!(strtod_weight(b""), (0.0, true));
        assert_eq!(strtod_weight(b"3\0junk"), (3.0, true));
        assert_eq!(strtod_weight(b"0x10"), (16.0, true));
        assert!(!strtod_weight(b"1e400").1);
        assert!(!strtod_weight(b"nan").1);
        assert!(!strtod_weight(b"1a").1);
        assert_eq!(strtod_weight(b"inf"), (f64::INFINITY, true));
    }

    proptest! {
        #[test]
        fn both_sorts_agree_with_std(v in proptest::collection::vec(0u8..20, 0..120), l in 0i64..130, c in 0i64..130) {
            let mut want = v.clone();
            want.sort();
            let mut m = v.clone();
            glibc_qsort(&mut m, |a, b| sign(a.cmp(b)));
            prop_assert_eq!(&m, &want);
            let mut p = v.clone();
            let r = (l + c - 1).min(v.len() as i64 - 1);
            pqsort(&mut p, |a, b| sign(a.cmp(b)), l, r);
            let mut sorted_p = p.clone();
            sorted_p.sort();
            prop_assert_eq!(sorted_p, want.clone());
            if r >= l && (l as usize) < v.len() {
                prop_assert_eq!(&p[l as usize..=r as usize], &want[l as usize..=r as usize]);
            }
        }
    }
}
