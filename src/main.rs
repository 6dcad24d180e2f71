//! The `duro` command line: parses arguments, loads the configuration and maps every outcome to
//! an exit code (0 ok, 1 errors or failed work, 2 usage and configuration errors).

mod cli;

/// mimalloc instead of glibc's malloc: analysing a views directory allocates and frees a syntax
/// tree per query on every worker thread, where glibc's per-thread heaps keep growing and
/// shrinking; a fresh 10,000-view schedule takes a sixth less time (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cli::main());
}
