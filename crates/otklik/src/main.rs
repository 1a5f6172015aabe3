//! `otklik`: one binary for the server and its administration.

use clap::Parser;

/// glibc's allocator keeps what large allocations free (its mmap threshold rises
/// after each one) and gives threads arenas of their own: a burst of Argon2
/// hashes (19 MiB each) left hundreds of megabytes resident for good. mimalloc
/// returns freed memory to the system after a short delay.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = otklik::cli::Cli::parse();
    // Blocking threads serve file I/O and the CPU gate's turns (one per core);
    // a cap keeps a flood from growing hundreds of threads and their stacks.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(64)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(otklik::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One clear line: the error and its causes.
            eprintln!("error: {e:#}");
            match e.downcast_ref::<otklik::cli::Exit>() {
                Some(x) => std::process::ExitCode::from(x.code),
                None => std::process::ExitCode::FAILURE,
            }
        }
    }
}
