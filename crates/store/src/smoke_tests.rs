//! Store-level tests: the group-commit writer and the portable SQL, on SQLite here
//! and on PostgreSQL when `OTKLIK_TEST_PG_URL` is set (see the otklik crate's suite).

use crate::{Store, StoreError, StoreOptions, SystemClock, query, workspaces};
use domain::event::{Actor, EventData};
use domain::ids::WorkspaceId;
use std::sync::Arc;

async fn sqlite_store(dir: &std::path::Path) -> Store {
    let opts = StoreOptions {
        database_url: None,
        data_dir: dir.to_path_buf(),
        max_connections: 4,
        max_batch: 64,
    };
    match Store::open(&opts, Arc::new(SystemClock)).await {
        Ok(s) => s,
        Err(e) => panic!("open: {e}"),
    }
}

fn ws(name: &str, now: domain::Timestamp) -> workspaces::Workspace {
    workspaces::Workspace {
        id: WorkspaceId::new(),
        name: name.into(),
        display_name: name.into(),
        default_language: "en".into(),
        time_zone: "UTC".into(),
        created_at: now,
    }
}

#[tokio::test]
async fn concurrent_writes_commit_and_a_failing_one_rolls_back_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path()).await;
    let mut handles = Vec::new();
    for i in 0..200 {
        let s = store.clone();
        handles.push(tokio::spawn(async move {
            s.write(move |tx| {
                Box::pin(async move {
                    let w = ws(&format!("w{}", i % 100), tx.now());
                    workspaces::insert(tx, &w).await?;
                    tx.emit(
                        w.id,
                        Actor::System,
                        EventData::WorkspaceCreated {
                            name: w.name.clone(),
                        },
                    )
                    .await?;
                    Ok::<_, StoreError>(())
                })
            })
            .await
        }));
    }
    let mut ok = 0;
    let mut conflicts = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict(_)) => conflicts += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!((ok, conflicts), (100, 100));
    let mut c = store.read().await.unwrap();
    let n: i64 = c
        .conn()
        .fetch_one(&query("SELECT COUNT(*) FROM workspaces"))
        .await
        .unwrap();
    let e: i64 = c
        .conn()
        .fetch_one(&query("SELECT COUNT(*) FROM events"))
        .await
        .unwrap();
    // Events of the rolled-back writes vanished with them.
    assert_eq!((n, e), (100, 100));
    drop(c);
    store.close().await;
}

/// One write may emit more events than one statement can bind (SQLite takes
/// 32,766 values, eight per event): a consumer batch whose rules fired on
/// every event does. They are inserted in several statements, in order.
#[tokio::test]
async fn a_write_emitting_thousands_of_events_commits_them_all_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path()).await;
    let n = 9_000;
    let id = store
        .write(move |tx| {
            Box::pin(async move {
                let w = ws("many", tx.now());
                workspaces::insert(tx, &w).await?;
                for i in 0..n {
                    tx.emit(
                        w.id,
                        Actor::System,
                        EventData::WorkspaceCreated {
                            name: format!("e{i}"),
                        },
                    )
                    .await?;
                }
                Ok::<_, StoreError>(w.id)
            })
        })
        .await
        .unwrap();
    let mut c = store.read().await.unwrap();
    let names: Vec<String> = c
        .conn()
        .fetch_all(&query("SELECT data FROM events WHERE workspace_id = $1 ORDER BY id").bind(id))
        .await
        .unwrap();
    assert_eq!(names.len(), n);
    for (i, d) in names.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(d).unwrap();
        assert_eq!(v["name"], format!("e{i}"), "event {i} out of order");
    }
}
