//! The `duro` command line: parses arguments, loads the configuration and maps every outcome to
//! an exit code (0 ok, 1 errors or failed work, 2 usage and configuration errors).

mod cli;

fn main() {
    std::process::exit(cli::main());
}
