//! The job routes answer with the documented shapes (details, priority, cancel, restart,
//! batches), and the job list honours every filter, sort and page. Jobs come from a scan of
//! tiny fake files with the engine paused (`support::library`), so nothing is ever encoded.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::api::{get_ok, header, ids, job_list, post_ok, problem, problem_any};
use crate::support::library::{fake_files, paused_library};
use crate::support::shapes::{T, check, check_job, time_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_routes_have_the_documented_shapes() {
    let lib = paused_library(6).await;
    let (server, token) = (&lib.server, lib.token.as_str());
    let (list, total) = job_list(server, token, "").await;
    assert_eq!((list.len(), total), (6, 6));
    list.iter().for_each(check_job);
    let id = list[0]["id"].as_u64().unwrap();

    let d = server
        .get_json(&format!("/api/jobs/{id}/details"), token)
        .await;
    check(
        &d,
        "details",
        &[
            ("job", T::Obj),
            ("attempts", T::Arr),
            ("logs", T::Arr),
            ("queue_position", T::OptUint),
        ],
    );
    for f in ["metadata", "encode_stats"] {
        assert!(d.get(f).is_some(), "details.{f} present: {d}");
    }
    check_job(&d["job"]);
    assert_eq!(d["job"]["id"], id);
    assert_eq!(d["job"]["status"], "queued");
    assert!(
        d["encode_stats"].is_null() && d["metadata"].is_null(),
        "never probed: {d}"
    );
    assert!(
        d["job"]["input_path"]
            .as_str()
            .unwrap()
            .starts_with(std::fs::canonicalize(&lib.dir).unwrap().to_str().unwrap())
    );

    // Priority: {id, priority}; the highest runs first.
    let p = post_ok(
        server,
        &format!("/api/jobs/{id}/priority"),
        token,
        json!({"priority": -5}),
    )
    .await;
    assert_eq!(p, json!({"id": id, "priority": -5}));
    let last = list[5]["id"].as_u64().unwrap();
    let p = post_ok(
        server,
        &format!("/api/jobs/{last}/priority"),
        token,
        json!({"priority": 100}),
    )
    .await;
    assert_eq!(p, json!({"id": last, "priority": 100}));
    let d = server
        .get_json(&format!("/api/jobs/{last}/details"), token)
        .await;
    assert_eq!(d["job"]["priority"], 100);
    assert_eq!(d["queue_position"], 1);
    let d = server
        .get_json(&format!("/api/jobs/{id}/details"), token)
        .await;
    assert_eq!(d["queue_position"], 6);
    let r = server
        .post_json("/api/jobs/999/priority", token, json!({"priority": 1}))
        .await;
    problem(r, 404, "JOB_NOT_FOUND").await;

    // Cancel and restart: {"ok": true}; cancelled jobs have no queue position.
    assert_eq!(
        post_ok(server, &format!("/api/jobs/{id}/cancel"), token, json!({})).await,
        json!({"ok": true})
    );
    let d = server
        .get_json(&format!("/api/jobs/{id}/details"), token)
        .await;
    assert_eq!(d["job"]["status"], "cancelled");
    assert!(d["queue_position"].is_null());
    // Cancel of a terminal job is a no-op.
    post_ok(server, &format!("/api/jobs/{id}/cancel"), token, json!({})).await;
    assert_eq!(
        post_ok(server, &format!("/api/jobs/{id}/restart"), token, json!({})).await,
        json!({"ok": true})
    );
    let d = server
        .get_json(&format!("/api/jobs/{id}/details"), token)
        .await;
    assert_eq!(d["job"]["status"], "queued");
    assert_eq!(d["job"]["progress"], 0.0);

    // Bulk actions answer {count}.
    let all = ids(&list);
    let c = post_ok(
        server,
        "/api/jobs/batch",
        token,
        json!({"action": "cancel", "ids": all[..3]}),
    )
    .await;
    assert_eq!(c, json!({"count": 3}));
    let c = post_ok(server, "/api/jobs/restart-failed", token, json!({})).await;
    assert_eq!(c, json!({"count": 3}));
    let c = post_ok(server, "/api/jobs/clear-completed", token, json!({})).await;
    assert_eq!(c, json!({"count": 0}));
    let (_, queued) = job_list(server, token, "status=queued").await;
    assert_eq!(queued, 6);

    // Enqueue: inside a library folder 200, outside 403 (also through `..` or a symlink).
    let inside = lib.dir.join("new one.mkv");
    std::fs::write(&inside, b"new").unwrap();
    let e = post_ok(
        server,
        "/api/jobs/enqueue",
        token,
        json!({"path": inside.to_str().unwrap()}),
    )
    .await;
    check(&e, "enqueued", &[("id", T::Uint), ("enqueued", T::Bool)]);
    assert_eq!(e["enqueued"], true);
    let again = post_ok(
        server,
        "/api/jobs/enqueue",
        token,
        json!({"path": inside.to_str().unwrap()}),
    )
    .await;
    assert_eq!(again, json!({"id": e["id"], "enqueued": false}));
    let outside_dir = server.tmp.path().join("elsewhere");
    std::fs::create_dir_all(&outside_dir).unwrap();
    let outside = outside_dir.join("secret.mkv");
    std::fs::write(&outside, b"x").unwrap();
    let dotdot = lib.dir.join("../elsewhere/secret.mkv");
    let link = lib.dir.join("link.mkv");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    for path in [&outside, &dotdot, &link] {
        let r = server
            .post_json(
                "/api/jobs/enqueue",
                token,
                json!({"path": path.to_str().unwrap()}),
            )
            .await;
        problem(r, 403, "ENQUEUE_PATH_FORBIDDEN").await;
    }
    let r = server
        .post_json(
            "/api/jobs/enqueue",
            token,
            json!({"path": lib.dir.join("notes.txt").to_str().unwrap()}),
        )
        .await;
    problem_any(r, 400, None).await;
    assert_eq!(job_list(server, token, "").await.1, 7);

    // /metrics: Prometheus text, behind authentication.
    let r = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    problem(r, 401, "AUTH_REQUIRED").await;
    let r = get_ok(server, "/metrics", token).await;
    assert!(header(&r, "content-type").starts_with("text/plain"));
    let text = r.text().await.unwrap();
    assert!(text.contains("# TYPE alchemist_jobs gauge"), "{text}");
    assert!(
        text.contains("alchemist_jobs{status=\"queued\"} 7"),
        "{text}"
    );
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "sample line: {line}");
    }
    lib.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_list_filters_sorts_and_pages() {
    // More than the default page of 50.
    const N: usize = 55;
    let lib = paused_library(N).await;
    let (server, token) = (&lib.server, lib.token.as_str());
    let (all, total) = job_list(server, token, "limit=200").await;
    assert_eq!((all.len(), total), (N, N as u64));
    all.iter().for_each(check_job);
    let all_ids = ids(&all);

    // Varied priorities (which also moves updated_at) and some cancelled jobs.
    for (i, id) in all_ids.iter().enumerate().filter(|(i, _)| i % 4 == 0) {
        let priority = (i as i32 % 7) - 3;
        post_ok(
            server,
            &format!("/api/jobs/{id}/priority"),
            token,
            json!({"priority": priority}),
        )
        .await;
    }
    let cancelled: Vec<u64> = all_ids.iter().copied().filter(|id| id % 5 == 2).collect();
    let c = post_ok(
        server,
        "/api/jobs/batch",
        token,
        json!({"action": "cancel", "ids": cancelled}),
    )
    .await;
    assert_eq!(c["count"], cancelled.len());
    let (all, _) = job_list(server, token, "limit=200").await;

    // Status filter (comma list).
    let (list, total) = job_list(server, token, "status=cancelled&limit=200").await;
    let mut got = ids(&list);
    got.sort();
    assert_eq!(got, cancelled);
    assert_eq!(total, cancelled.len() as u64);
    assert!(list.iter().all(|j| j["status"] == "cancelled"));
    let (list, total) = job_list(server, token, "status=queued&limit=200").await;
    assert_eq!(total as usize, N - cancelled.len());
    assert!(list.iter().all(|j| j["status"] == "queued"));
    let (_, total) = job_list(server, token, "status=queued,cancelled").await;
    assert_eq!(total as usize, N);
    let (_, total) = job_list(server, token, "status=cancelled,%20queued").await;
    assert_eq!(total as usize, N);
    let (list, total) = job_list(server, token, "status=failed,completed").await;
    assert_eq!((list.len(), total), (0, 0));
    for bad in ["status=bogus", "status=queued,bogus"] {
        let r = server
            .bearer(Method::GET, &format!("/api/jobs?{bad}"), token)
            .send()
            .await
            .unwrap();
        problem(r, 400, "INVALID_JOB_STATUS_FILTER").await;
    }

    // Search: case-insensitive substring of the path.
    for needle in ["ALPHA", "season 1/", "BeTa 1", "zz-nothing"] {
        let (list, total) = job_list(
            server,
            token,
            &format!("search={}&limit=200", needle.replace(' ', "%20")),
        )
        .await;
        let mut expected: Vec<u64> = all
            .iter()
            .filter(|j| {
                j["input_path"]
                    .as_str()
                    .unwrap()
                    .to_lowercase()
                    .contains(&needle.to_lowercase())
            })
            .map(|j| j["id"].as_u64().unwrap())
            .collect();
        expected.sort();
        let mut got = ids(&list);
        got.sort();
        assert_eq!(got, expected, "search {needle}");
        assert_eq!(total as usize, expected.len());
    }
    assert_eq!(job_list(server, token, "search=ALPHA").await.1, 10);

    // Every sort key, both directions: the whole order, ties broken by id.
    type Key = fn(&Value) -> (i128, String);
    let keys: [(&str, Key); 5] = [
        ("created_at", |j| (time_of(&j["created_at"]), String::new())),
        ("updated_at", |j| (time_of(&j["updated_at"]), String::new())),
        ("input_path", |j| {
            (0, j["input_path"].as_str().unwrap().to_lowercase())
        }),
        ("size", |j| {
            (
                j["input_size_bytes"].as_u64().unwrap() as i128,
                String::new(),
            )
        }),
        ("priority", |j| {
            (j["priority"].as_i64().unwrap() as i128, String::new())
        }),
    ];
    for (name, key) in keys {
        let mut sorted = all.clone();
        sorted.sort_by_key(|j| (key(j), j["id"].as_u64().unwrap()));
        let ascending = ids(&sorted);
        let distinct: std::collections::HashSet<_> = all.iter().map(key).collect();
        assert!(
            name == "created_at" || distinct.len() > 3,
            "{name}: the fixture must make the order meaningful"
        );
        for desc in [false, true] {
            let (list, total) = job_list(
                server,
                token,
                &format!("sort_by={name}&sort_desc={desc}&limit=200"),
            )
            .await;
            assert_eq!(total as usize, N);
            let mut expected = ascending.clone();
            if desc {
                expected.reverse();
            }
            assert_eq!(ids(&list), expected, "sort_by={name} sort_desc={desc}");
        }
    }
    // The default order is updated_at ascending.
    let (list, _) = job_list(server, token, "limit=200").await;
    let (by_updated, _) = job_list(server, token, "sort_by=updated_at&limit=200").await;
    assert_eq!(ids(&list), ids(&by_updated));

    // Pages do not overlap, cover everything in order, and the total stays the same.
    let (reference, _) = job_list(server, token, "sort_by=size&limit=200").await;
    let mut paged = Vec::new();
    let pages = N.div_ceil(7);
    for page in 1..=pages {
        let (list, total) =
            job_list(server, token, &format!("sort_by=size&limit=7&page={page}")).await;
        assert_eq!(total as usize, N, "page {page}");
        let expected = if page < pages { 7 } else { N - 7 * (pages - 1) };
        assert_eq!(list.len(), expected, "page {page}");
        paged.extend(ids(&list));
    }
    assert_eq!(paged, ids(&reference));
    let after = format!("sort_by=size&limit=7&page={}", pages + 1);
    let (list, total) = job_list(server, token, &after).await;
    assert_eq!((list.len(), total as usize), (0, N));
    // Filters, sort and pages combine.
    let queued: Vec<u64> = ids(&reference)
        .into_iter()
        .filter(|id| !cancelled.contains(id))
        .rev()
        .collect();
    let (list, total) = job_list(
        server,
        token,
        "status=queued&sort_by=size&sort_desc=true&limit=5&page=2",
    )
    .await;
    assert_eq!(total as usize, queued.len());
    assert_eq!(ids(&list), queued[5..10]);
    // The default page has 50 jobs; larger limits are capped, not refused.
    let (list, total) = job_list(server, token, "").await;
    assert_eq!((list.len(), total as usize), (50, N));
    assert_eq!(job_list(server, token, "limit=1000").await.0.len(), N);

    // Batch restart and delete are atomic: an unknown id blocks the whole batch.
    let victim = cancelled[0];
    let keep = *all_ids.iter().find(|id| !cancelled.contains(id)).unwrap();
    for (action, ids_) in [
        ("restart", vec![victim, 999_999]),
        ("delete", vec![keep, 999_999]),
    ] {
        let r = server
            .post_json(
                "/api/jobs/batch",
                token,
                json!({"action": action, "ids": ids_}),
            )
            .await;
        let p = problem_any(r, 409, None).await;
        assert_eq!(
            p["blocked"],
            json!([{"id": 999_999, "status": null}]),
            "{action}"
        );
    }
    let d = server
        .get_json(&format!("/api/jobs/{victim}/details"), token)
        .await;
    assert_eq!(
        d["job"]["status"], "cancelled",
        "restart batch changed nothing"
    );
    let d = server
        .get_json(&format!("/api/jobs/{keep}/details"), token)
        .await;
    assert_eq!(d["job"]["archived"], false, "delete batch changed nothing");

    // Delete archives: gone from the default list, listed with archived=true, still readable.
    let mut uncancelled = all_ids.iter().copied().filter(|id| !cancelled.contains(id));
    let gone = [
        uncancelled.next().unwrap(),
        uncancelled.next().unwrap(),
        victim,
    ];
    let c = post_ok(
        server,
        "/api/jobs/batch",
        token,
        json!({"action": "delete", "ids": gone}),
    )
    .await;
    assert_eq!(c, json!({"count": 3}));
    let (list, total) = job_list(server, token, "limit=200").await;
    assert_eq!((list.len(), total as usize), (N - 3, N - 3));
    assert!(ids(&list).iter().all(|id| !gone.contains(id)));
    let (list, total) = job_list(server, token, "archived=true&limit=200").await;
    let mut got = ids(&list);
    got.sort();
    let mut expected = gone.to_vec();
    expected.sort();
    assert_eq!((got, total), (expected, 3));
    assert!(list.iter().all(|j| j["archived"] == true));
    let (list, _) = job_list(server, token, "archived=true&status=cancelled").await;
    assert_eq!(ids(&list), vec![victim]);
    let d = server
        .get_json(&format!("/api/jobs/{victim}/details"), token)
        .await;
    assert_eq!(d["job"]["archived"], true);
    // The files are untouched.
    for (name, size) in fake_files(N) {
        assert_eq!(std::fs::metadata(lib.dir.join(name)).unwrap().len(), size);
    }
    lib.server.stop().await;
}
