//! Encoding profiles through the API: `/api/profiles` (default from the configuration,
//! read-only presets, custom profiles created, replaced and deleted with validation) and each
//! folder's profile (`POST`/`PATCH /api/library/folders`). `profiles::engine` runs them.

use alchemist::model::OriginalPolicy;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::api::{add_folder_with_profile, ok, problem, send};
use crate::support::files::folder;

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn profiles_are_listed_created_validated_and_builtins_are_read_only() {
    let server = TestServer::start_with(|c| {
        c.transcode.crf = Some(30);
        c.transcode.original = OriginalPolicy::Replace;
    })
    .await;
    let token = server.login().await;
    let post = |body: Value| send(&server, &token, Method::POST, "/api/profiles", body);

    // The list: default (from the configuration), then the presets.
    let list = server.get_json("/api/profiles", &token).await;
    assert_eq!(
        names(&list),
        ["default", "balanced", "space_saver", "compatible"]
    );
    let default = &list[0];
    assert_eq!(default["source"], "config");
    assert_eq!(
        (default["builtin"].clone(), default["read_only"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(default["crf"], 30);
    assert_eq!(default["original"], "replace", "the config's policy");
    assert_eq!(default["encoder"], "libx265");
    for preset in &list.as_array().unwrap()[1..] {
        assert_eq!(preset["source"], "builtin", "{preset}");
        assert_eq!(preset["builtin"], true);
        assert_eq!(preset["read_only"], true);
    }
    assert_eq!(list[2]["encoder"], "libsvtav1");
    assert_eq!(list[2]["min_saving_percent"], 20);

    // Create from a base with overrides; read it back.
    let films = ok(
        post(json!({"name": "films", "base": "balanced", "crf": 24,
                    "original": "replace", "min_saving_percent": 25}))
        .await,
        201,
    )
    .await;
    assert_eq!(films["source"], "custom");
    assert_eq!(
        (films["builtin"].clone(), films["read_only"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(films["encoder"], "libx265");
    assert_eq!(films["crf"], 24);
    assert_eq!(films["original"], "replace");
    assert_eq!(films["min_saving_percent"], 25);
    assert_eq!(
        films["min_file_size"], list[1]["min_file_size"],
        "from the base"
    );
    assert!(films["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(server.get_json("/api/profiles/films", &token).await, films);
    let list = server.get_json("/api/profiles", &token).await;
    assert_eq!(names(&list).last(), Some(&"films"));
    // Without a base the encoder is required; other fields take their defaults.
    let tiny = ok(
        post(json!({"name": "tiny-4k_2", "encoder": "libx264"})).await,
        201,
    )
    .await;
    assert_eq!(
        (tiny["crf"].clone(), tiny["original"].clone()),
        (Value::Null, json!("keep"))
    );
    assert_eq!(tiny["min_saving_percent"], 10);

    // Refusals.
    for name in ["films", "balanced", "default"] {
        problem(
            post(json!({"name": name, "encoder": "libx265"})).await,
            409,
            "PROFILE_EXISTS",
        )
        .await;
    }
    let long = "x".repeat(65);
    for name in ["Films", "-x", "a b", "../x", "", long.as_str()] {
        problem(
            post(json!({"name": name, "encoder": "libx265"})).await,
            400,
            "PROFILE_INVALID",
        )
        .await;
    }
    for body in [
        json!({"name": "a", "encoder": "libx265", "crf": 52}),
        json!({"name": "a", "encoder": "libsvtav1", "preset": "14"}),
        json!({"name": "a", "encoder": "libx264", "preset": "warp"}),
        json!({"name": "a", "base": "balanced", "min_saving_percent": 91}),
        json!({"name": "a", "base": "balanced", "bpp_factor": 10.5}),
        json!({"name": "a", "base": "balanced", "bpp_factor": -1}),
        json!({"name": "a"}),
        json!({"name": "a", "base": "nope"}),
    ] {
        let p = problem(post(body.clone()).await, 400, "PROFILE_INVALID").await;
        assert!(!p["detail"].as_str().unwrap().is_empty(), "{body}");
    }
    for body in [
        json!({"name": "a", "encoder": "libx265", "colour": "red"}),
        json!({"name": "a", "encoder": "h265"}),
        json!({"name": "a", "base": "balanced", "original": "shred"}),
    ] {
        problem(post(body).await, 400, "VALIDATION_FAILED").await;
    }
    problem(
        server
            .bearer(Method::GET, "/api/profiles/nope", &token)
            .send()
            .await
            .unwrap(),
        404,
        "PROFILE_NOT_FOUND",
    )
    .await;

    // PUT replaces every field (those not given take their defaults).
    let put = |name: &str, body: Value| {
        send(
            &server,
            &token,
            Method::PUT,
            format!("/api/profiles/{name}"),
            body,
        )
    };
    let replaced = ok(
        put("films", json!({"encoder": "libsvtav1", "crf": 40})).await,
        200,
    )
    .await;
    assert_eq!(replaced["encoder"], "libsvtav1");
    assert_eq!(replaced["crf"], 40);
    assert_eq!(replaced["original"], "keep");
    assert_eq!(replaced["min_saving_percent"], 10);
    assert_eq!(replaced["created_at"], films["created_at"]);
    problem(
        put("films", json!({"encoder": "libsvtav1", "crf": 64})).await,
        400,
        "PROFILE_INVALID",
    )
    .await;
    problem(
        put("films", json!({"crf": 20})).await,
        400,
        "PROFILE_INVALID",
    )
    .await;
    problem(
        put("films", json!({"encoder": "libx265", "name": "x"})).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    problem(
        put("nope", json!({"encoder": "libx265"})).await,
        404,
        "PROFILE_NOT_FOUND",
    )
    .await;
    for name in ["balanced", "default"] {
        problem(
            put(name, json!({"encoder": "libx265"})).await,
            409,
            "PROFILE_READ_ONLY",
        )
        .await;
        let r = send(
            &server,
            &token,
            Method::DELETE,
            format!("/api/profiles/{name}"),
            json!({}),
        )
        .await;
        problem(r, 409, "PROFILE_READ_ONLY").await;
    }
    assert_eq!(
        server.get_json("/api/profiles/films", &token).await["crf"],
        40
    );

    // Folders: a profile when added, changed with PATCH, shown in the folder view.
    let a = folder(&server, "a");
    let b = folder(&server, "b");
    let fa = ok(
        add_folder_with_profile(&server, &token, &a, json!("films")).await,
        201,
    )
    .await;
    assert_eq!(fa["profile"], "films");
    problem(
        add_folder_with_profile(&server, &token, &b, json!("ghost")).await,
        400,
        "FOLDER_PROFILE_UNKNOWN",
    )
    .await;
    let fb = ok(
        add_folder_with_profile(&server, &token, &b, Value::Null).await,
        201,
    )
    .await;
    assert!(fb["profile"].is_null(), "{fb}");
    let listed = server.get_json("/api/library/folders", &token).await;
    assert_eq!(
        listed.as_array().unwrap().len(),
        2,
        "the refused folder was not added"
    );

    let r = send(
        &server,
        &token,
        Method::DELETE,
        "/api/profiles/films",
        json!({}),
    )
    .await;
    let p = problem(r, 409, "PROFILE_IN_USE").await;
    assert!(
        p["detail"].as_str().unwrap().contains(a.to_str().unwrap()),
        "{p}"
    );

    let patch = |id: &Value, body: Value| {
        send(
            &server,
            &token,
            Method::PATCH,
            format!("/api/library/folders/{id}"),
            body,
        )
    };
    let changed = ok(
        patch(&fa["id"], json!({"profile": "compatible"})).await,
        200,
    )
    .await;
    assert_eq!(changed["profile"], "compatible");
    assert_eq!(changed["path"], fa["path"]);
    let changed = ok(patch(&fb["id"], json!({"profile": "tiny-4k_2"})).await, 200).await;
    assert_eq!(changed["profile"], "tiny-4k_2");
    let changed = ok(patch(&fb["id"], json!({"profile": "default"})).await, 200).await;
    assert!(changed["profile"].is_null());
    problem(
        patch(&fa["id"], json!({"profile": "ghost"})).await,
        400,
        "FOLDER_PROFILE_UNKNOWN",
    )
    .await;
    problem(
        patch(&fa["id"], json!({"profile": "Bad Name"})).await,
        400,
        "FOLDER_PROFILE_UNKNOWN",
    )
    .await;
    problem(patch(&fa["id"], json!({})).await, 400, "VALIDATION_FAILED").await;
    problem(
        patch(&fa["id"], json!({"profile": null, "recursive": true})).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    problem(
        patch(&json!(999), json!({"profile": null})).await,
        404,
        "FOLDER_NOT_FOUND",
    )
    .await;
    let listed = server.get_json("/api/library/folders", &token).await;
    let profiles: Vec<Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["profile"].clone())
        .collect();
    assert_eq!(profiles, [json!("compatible"), Value::Null]);

    // No longer used: it can go.
    let r = send(
        &server,
        &token,
        Method::DELETE,
        "/api/profiles/films",
        json!({}),
    )
    .await;
    assert_eq!(ok(r, 200).await, json!({"ok": true}));
    problem(
        server
            .bearer(Method::GET, "/api/profiles/films", &token)
            .send()
            .await
            .unwrap(),
        404,
        "PROFILE_NOT_FOUND",
    )
    .await;
    let r = send(
        &server,
        &token,
        Method::DELETE,
        "/api/profiles/films",
        json!({}),
    )
    .await;
    problem(r, 404, "PROFILE_NOT_FOUND").await;

    // A read-only token reads profiles but cannot write them.
    let created = ok(
        send(
            &server,
            &token,
            Method::POST,
            "/api/settings/api-tokens",
            json!({"name": "ro", "access_level": "read_only"}),
        )
        .await,
        201,
    )
    .await;
    let ro = created["plaintext_token"].as_str().unwrap();
    assert_eq!(names(&server.get_json("/api/profiles", ro).await).len(), 5);
    problem(
        post_as(&server, ro, json!({"name": "z", "encoder": "libx265"})).await,
        403,
        "TOKEN_FORBIDDEN",
    )
    .await;
    problem(
        patch_as(&server, ro, &fa["id"]).await,
        403,
        "TOKEN_FORBIDDEN",
    )
    .await;
    server.stop().await;
}

async fn post_as(server: &TestServer, token: &str, body: Value) -> Response {
    send(server, token, Method::POST, "/api/profiles", body).await
}

async fn patch_as(server: &TestServer, token: &str, id: &Value) -> Response {
    let path = format!("/api/library/folders/{id}");
    send(
        server,
        token,
        Method::PATCH,
        &path,
        json!({"profile": null}),
    )
    .await
}
