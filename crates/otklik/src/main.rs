//! `otklik`: one binary for the server and its administration.

use clap::Parser;

/// glibc's allocator keeps what large allocations free (its mmap threshold rises
/// after each one) and gives threads arenas of their own: a burst of Argon2
/// hashes (19 MiB each) left hundreds of megabytes resident for good. mimalloc
/// returns freed memory to the system; built with `no_thp` it keeps transparent
/// huge pages out of its arenas, where a 2 MiB page stays resident while any
/// 64 KiB of it is in use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option `purge_delay` (its index in mimalloc 3's `mi_option_e`).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// Memory freed is returned to the system at once rather than a second later:
/// a delayed purge runs only when the thread that freed the memory allocates
/// again, and an idle server's threads do not, so a burst (seeding the demo,
/// indexing a backlog) left tens of megabytes resident for good. Measured in
/// docs/decisions.md; throughput did not change.
#[allow(unsafe_code, reason = "the one call into the allocator's C API")]
fn purge_freed_memory_at_once() {
    // SAFETY: mi_version and mi_option_set have no preconditions and may be
    // called at any time from any thread. The option index is only used with
    // the major version it was read from.
    unsafe {
        if (30000..40000).contains(&libmimalloc_sys::mi_version()) {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
        }
    }
}

fn main() -> std::process::ExitCode {
    purge_freed_memory_at_once();
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
