//! The library page's profiles section (scraper-based, like `pages::content`): every profile
//! listed with its kind, custom profiles created from a preset and deleted through forms, a
//! profile select per folder, refusals shown beside the form, escaped, and cross-origin posts
//! refused.

use reqwest::StatusCode;
use scraper::Html;

use crate::support::TestServer;
use crate::support::pages::{get_page, has, post_form, same_origin, select};

#[tokio::test]
async fn library_profiles_section_and_folder_select() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let origin = same_origin(&server);
    let r = server
        .post_json(
            "/api/profiles",
            &token,
            serde_json::json!({"name": "films", "base": "balanced"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let lib = server.tmp.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let id = server.add_folder(&token, &lib).await;
    let form = |path: String, fields: Vec<(&'static str, &'static str)>, origin: String| {
        let (server, token) = (&server, token.clone());
        async move { post_form(server, &path, Some(&token), &fields, &origin).await }
    };
    let folder_profile =
        async || server.get_json("/api/library/folders", &token).await[0]["profile"].clone();

    // The folder's select posts the choice; a cross-origin post changes nothing.
    let action = format!("/library/folders/{id}/profile");
    let (status, _, _) = form(
        action.clone(),
        vec![("profile", "films")],
        "http://evil.example".into(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(folder_profile().await.is_null());
    let (status, location, _) =
        form(action.clone(), vec![("profile", "films")], origin.clone()).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/library")
    );
    assert_eq!(folder_profile().await, "films");
    let (status, _, body) = form(
        action.clone(),
        vec![("profile", "<b>ghost")],
        origin.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let doc = Html::parse_document(&body);
    assert!(has(&doc, "#folder-error") && !has(&doc, "b"));

    // Every profile is listed; only custom ones can be deleted; the folder shows its choice.
    let (_, doc) = get_page(&server, "/library", &token).await;
    assert_eq!(select(&doc, "#profiles tbody tr").len(), 5);
    let films = select(&doc, r#"#profiles tr[data-profile="films"]"#)[0]
        .text()
        .collect::<String>();
    assert!(
        films.contains("custom") && films.contains("libx265"),
        "{films}"
    );
    assert_eq!(
        select(
            &doc,
            r#"form[action^="/library/profiles/"][action$="/delete"]"#
        )
        .len(),
        1
    );
    assert!(has(
        &doc,
        r#"form[action="/library/profiles/films/delete"]"#
    ));
    let chosen = format!(r#"form[action="{action}"] select[name="profile"] option[selected]"#);
    assert_eq!(
        select(&doc, &chosen)[0].value().attr("value"),
        Some("films")
    );
    assert_eq!(
        select(&doc, &format!(r#"form[action="{action}"] option"#)).len(),
        5
    );
    for field in [
        "input[name=name]",
        "select[name=base]",
        "select[name=encoder]",
        "input[name=crf]",
        "select[name=container]",
        "select[name=original]",
        "input[name=min_saving_percent]",
    ] {
        assert!(
            has(&doc, &format!("form#create-profile {field}")),
            "{field}"
        );
    }

    // Create from a preset with a few fields; refusals are shown with the typed name, escaped.
    let fields = vec![
        ("name", "kids"),
        ("base", "compatible"),
        ("crf", "20"),
        ("encoder", ""),
        ("container", ""),
        ("original", "replace"),
        ("min_saving_percent", "15"),
    ];
    let (status, location, _) = form("/library/profiles".into(), fields, origin.clone()).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/library")
    );
    let kids = server.get_json("/api/profiles/kids", &token).await;
    assert_eq!(
        (kids["encoder"].as_str(), kids["container"].as_str()),
        (Some("libx264"), Some("mp4"))
    );
    assert_eq!(
        (kids["crf"].as_u64(), kids["original"].as_str()),
        (Some(20), Some("replace"))
    );
    assert_eq!(kids["min_saving_percent"], 15);
    for (fields, status) in [
        (
            vec![("name", "Bad<b>"), ("base", "balanced")],
            StatusCode::BAD_REQUEST,
        ),
        (
            vec![("name", "x"), ("base", "balanced"), ("crf", "abc")],
            StatusCode::BAD_REQUEST,
        ),
        (
            vec![("name", "kids"), ("base", "balanced")],
            StatusCode::CONFLICT,
        ),
    ] {
        let (got, _, body) = form("/library/profiles".into(), fields.clone(), origin.clone()).await;
        assert_eq!(got, status, "{fields:?}");
        let doc = Html::parse_document(&body);
        assert!(has(&doc, "#profile-error") && !has(&doc, "b"), "{fields:?}");
        let typed = select(&doc, "#profile-name")[0]
            .value()
            .attr("value")
            .map(str::to_string);
        assert_eq!(typed.as_deref(), Some(fields[0].1));
    }
    let (status, _, body) = form(
        "/library/profiles/films/delete".into(),
        vec![],
        origin.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "in use");
    assert!(has(&Html::parse_document(&body), "#profile-error"));
    let (status, _, _) = form(
        "/library/profiles/balanced/delete".into(),
        vec![],
        origin.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "built in");
    let (status, _, _) = form(
        "/library/profiles/kids/delete".into(),
        vec![("confirm", "yes")],
        origin,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let list = server.get_json("/api/profiles", &token).await;
    assert_eq!(list.as_array().unwrap().len(), 5);
    server.stop().await;
}
