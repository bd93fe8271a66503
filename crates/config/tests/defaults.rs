//! CONFIG GET * on a default configuration matches Redis 7.0.15 (fixture dumped from a
//! real `redis-server --port 6379`).

use std::collections::BTreeSet;

use brim_config::Config;

fn fixture() -> BTreeSet<(String, String)> {
    let cwd = std::env::current_dir().unwrap().to_string_lossy().into_owned();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).min(128).to_string();
    include_str!("fixtures/redis-7.0.15-config-get-defaults.tsv")
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('\t').unwrap();
            (k.to_string(), v.replace("@CWD@", &cwd).replace("@CORES@", &cores))
        })
        .collect()
}

#[test]
fn config_get_star_matches_redis() {
    let cfg = Config::new();
    let got: BTreeSet<(String, String)> = cfg.get(&[b"*"]).into_iter().collect();
    let want = fixture();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}\nextra {extra:?}");
    assert_eq!(cfg.get(&[b"*"]).len(), want.len(), "no duplicates");
}

#[test]
fn every_directive_is_listed_or_hidden() {
    let names: BTreeSet<String> = fixture().into_iter().map(|(k, _)| k).collect();
    for d in brim_config::directives() {
        let hidden = d.flags & brim_config::HIDDEN != 0;
        assert_eq!(names.contains(d.name), !hidden, "{}", d.name);
        if let Some(a) = d.alias {
            assert!(names.contains(a), "{a}");
        }
    }
}
