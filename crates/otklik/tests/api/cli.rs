//! The command line, run as a separate process on its own data directory.

use std::process::Command;

fn otklik(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(args)
        .env("OTKLIK_DATA_DIR", dir)
        .env_remove("DATABASE_URL")
        .env_remove("OTKLIK_DATABASE_URL")
        .output()
        .expect("run otklik");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn administration_commands_work_and_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(otklik(d, &["migrate"]).0);
    let (ok, _, err) = otklik(
        d,
        &[
            "workspace",
            "create",
            "shop",
            "--owner",
            "Boss@Shop.example",
            "--password",
            "pw-123456",
        ],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = otklik(
        d,
        &[
            "user",
            "add",
            "--workspace",
            "shop",
            "--email",
            "agent@shop.example",
            "--role",
            "agent",
        ],
    );
    assert!(ok, "{err}");
    let (ok, out, err) = otklik(
        d,
        &[
            "token",
            "create",
            "--workspace",
            "shop",
            "--user",
            "boss@shop.example",
            "--name",
            "ci",
        ],
    );
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "only the token on stdout: {out:?}");
    assert!(
        lines[0].starts_with("otk_") && lines[0].len() == 47,
        "{out:?}"
    );
    // Errors: one line on stderr, non-zero exit, nothing on stdout.
    for (args, needle) in [
        (
            vec![
                "workspace",
                "create",
                "shop",
                "--owner",
                "x@shop.example",
                "--password",
                "p",
            ],
            "already exists",
        ),
        (
            vec![
                "user",
                "add",
                "--workspace",
                "nope",
                "--email",
                "a@b.example",
            ],
            "no workspace named",
        ),
        (
            vec![
                "user",
                "add",
                "--workspace",
                "shop",
                "--email",
                "a@b.example",
                "--role",
                "king",
            ],
            "--role",
        ),
        (
            vec![
                "user",
                "add",
                "--workspace",
                "shop",
                "--email",
                "agent@shop.example",
            ],
            "already exists",
        ),
        (
            vec![
                "token",
                "create",
                "--workspace",
                "shop",
                "--user",
                "ghost@shop.example",
            ],
            "no user",
        ),
        (
            vec![
                "workspace",
                "create",
                "Bad Name",
                "--owner",
                "x@y.example",
                "--password",
                "p",
            ],
            "name",
        ),
    ] {
        let (ok, out, err) = otklik(d, &args);
        assert!(!ok, "{args:?} should fail");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{args:?}: {err}"
        );
    }
    // A bad configuration fails fast with the reason.
    let cfg = d.join("bad.toml");
    std::fs::write(&cfg, "listne = \"x\"\n").unwrap();
    let (ok, _, err) = otklik(d, &["migrate", "--config", cfg.to_str().unwrap()]);
    assert!(!ok && err.contains("unknown field"), "{err}");
}
