//! `scripts/bench --quick --ci` runs: every benchmark scenario starts this build's `brim-server`, drives it
//! and yields numbers (Brim only, tiny sizes, no installs, no plots). What the numbers are is not checked
//! here; docs/benchmarks.md shows them. Skipped with a note when python3 or redis-benchmark is missing.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn found(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().map(|o| o.status.success()).unwrap_or(false)
}

#[test]
fn bench_ci_mode_runs_every_scenario() {
    if !found("python3") {
        println!("note: python3 not found; scripts/bench smoke test skipped");
        return;
    }
    if !found("redis-benchmark") {
        println!(
            "note: redis-benchmark not found (apt-get install redis-tools); scripts/bench smoke test skipped"
        );
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let json = std::env::temp_dir().join(format!("brim-bench-smoke-{}.json", std::process::id()));
    let start = Instant::now();
    let out = Command::new("python3")
        .arg(root.join("scripts/bench"))
        .args(["--quick", "--ci", "--brim", env!("CARGO_BIN_EXE_brim-server"), "--json"])
        .arg(&json)
        .current_dir(&root)
        .output()
        .expect("run scripts/bench");
    let took = start.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}\n{stderr}\nscripts/bench --quick --ci took {took:?}");
    assert!(out.status.success(), "scripts/bench --quick --ci failed: {}", out.status);
    let text = std::fs::read_to_string(&json).expect("the JSON results");
    let _ = std::fs::remove_file(&json);
    // The script exits non-zero when a scenario fails or yields no number; the JSON holds every scenario.
    for name in ["throughput", "memory", "oom"] {
        assert!(text.contains(&format!("\"{name}\": {{")), "no {name} results:\n{text}");
    }
    assert!(took < Duration::from_secs(300), "the CI-mode bench took {took:?}");
}
