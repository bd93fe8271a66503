//! Compiles the small C helper that does INCRBYFLOAT's `long double` arithmetic exactly as
//! Redis does (Rust has no `long double`).

fn main() {
    println!("cargo:rerun-if-changed=csrc/longdouble.c");
    cc::Build::new().file("csrc/longdouble.c").warnings(true).compile("brim_longdouble");
}
