//! Text in Korean, Japanese and emoji is stored, searched and measured as characters.

use briefing::api::pb;

use crate::helpers::{assert_invalid, item, leg, official, spawn_app, trip};

#[tokio::test]
async fn korean_japanese_and_emoji_round_trip() {
    let app = spawn_app().await;
    let mut choi = official("최상목", "KOR");
    choi.aliases = vec![
        "Choi Sang-mok".into(),
        "チェ・サンモク".into(),
        "🇰🇷 권한대행".into(),
    ];
    choi.roles = vec![pb::Role {
        title: "대통령 권한대행".into(),
        organization: "대한민국 정부".into(),
        start_date: "2024-12-27".into(),
        acting: true,
        note: "한덕수 국무총리 탄핵 이후 🏛️".into(),
        ..Default::default()
    }];
    let created_official = app.create_official("choi-sang-mok", choi.clone()).await;
    assert_eq!(created_official.display_name, "최상목");
    assert_eq!(created_official.aliases, choi.aliases);
    assert_eq!(created_official.roles[0].title, "대통령 권한대행");
    assert_eq!(created_official.roles[0].note, choi.roles[0].note);

    let mut journey = trip(
        "ブリンケン国務長官の最後の歴訪 ✈️ 서울 → 東京 → Paris",
        "officials/choi-sang-mok",
        vec![
            leg("KOR", "서울", "2025-01-05", "2025-01-06", "Asia/Seoul"),
            leg("JPN", "東京", "2025-01-06", "2025-01-07", "Asia/Tokyo"),
            leg(
                "FRA",
                "Paris — Île-de-France",
                "2025-01-08",
                "2025-01-08",
                "Europe/Paris",
            ),
        ],
    );
    journey.purpose = "동맹 재확인 🤝 日米同盟".into();
    let created_trip = app.create_trip("unicode-trip", journey.clone()).await;
    assert_eq!(created_trip.title, journey.title);
    assert_eq!(created_trip.legs, journey.legs);
    assert_eq!(created_trip.purpose, journey.purpose);

    let mut talks = item(
        "한미 동맹 재확인 🇺🇸🤝🇰🇷",
        "2025-01-06",
        &["USAGOV"],
        &["KORGOV"],
        pb::EventType::Support,
    );
    talks.summary = "블링컨 장관은 서울에서 철통같은 동맹을 재확인했다. 日米韓の協力 🙌".into();
    talks.participants = vec!["officials/choi-sang-mok".into()];
    talks.notes = "emoji with modifiers: 👩🏽‍💼 and flags 🇯🇵".into();
    let created_item = app.create_item("unicode-item", talks.clone()).await;
    for (got, sent) in [
        (&created_item.title, &talks.title),
        (&created_item.summary, &talks.summary),
        (&created_item.notes, &talks.notes),
    ] {
        assert_eq!(got, sent);
    }
    assert_eq!(
        app.get_official(&created_official.name).await.expect("get"),
        created_official
    );
    assert_eq!(
        app.get_trip(&created_trip.name).await.expect("get"),
        created_trip
    );
    assert_eq!(
        app.get_item(&created_item.name).await.expect("get"),
        created_item
    );
}

#[tokio::test]
async fn full_text_and_name_search_find_non_latin_words() {
    let app = spawn_app().await;
    app.create_official(
        "choi-sang-mok",
        pb::Official {
            aliases: vec!["チェ・サンモク".into()],
            ..official("최상목", "KOR")
        },
    )
    .await;
    app.create_official("blinken", official("Antony Blinken", "USA"))
        .await;
    let mut korean = item(
        "한미 동맹 재확인",
        "2025-01-06",
        &["USA"],
        &["KOR"],
        pb::EventType::Support,
    );
    korean.summary = "철통같은 동맹".into();
    app.create_item("korean", korean).await;
    let mut japanese = item(
        "日米 同盟 の 進展",
        "2025-01-07",
        &["USA"],
        &["JPN"],
        pb::EventType::Consult,
    );
    japanese.summary = "Alliance review 🇯🇵".into();
    app.create_item("japanese", japanese).await;
    app.create_item(
        "latin",
        item(
            "Élysée talks",
            "2025-01-08",
            &["USA"],
            &["FRA"],
            pb::EventType::Consult,
        ),
    )
    .await;

    let search = |query: &str| {
        let request = pb::ListAgendaItemsRequest {
            query: query.into(),
            ..Default::default()
        };
        let app = &app;
        async move {
            app.all_items(request)
                .await
                .into_iter()
                .map(|item| item.name)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search("동맹").await, ["agendaItems/korean"]);
    assert_eq!(search("재확*").await, ["agendaItems/korean"]);
    assert_eq!(search("同盟").await, ["agendaItems/japanese"]);
    assert_eq!(
        search("alliance 🇯🇵").await,
        ["agendaItems/japanese"],
        "emoji are not words, so they do not narrow"
    );
    assert_eq!(
        search("elysee").await,
        ["agendaItems/latin"],
        "diacritics are folded"
    );
    assert!(search("동맹 同盟").await.is_empty());

    let by_text = |query: &str| {
        let request = pb::ListOfficialsRequest {
            query: query.into(),
            ..Default::default()
        };
        let app = &app;
        async move {
            app.all_officials(request)
                .await
                .into_iter()
                .map(|official| official.name)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(by_text("상목").await, ["officials/choi-sang-mok"]);
    assert_eq!(by_text("サンモク").await, ["officials/choi-sang-mok"]);
}

#[tokio::test]
async fn length_limits_count_characters_not_bytes() {
    let app = spawn_app().await;
    app.create_official("traveler", official("Traveler", "KOR"))
        .await;
    let legs = vec![leg("KOR", "서울", "2025-01-05", "2025-01-06", "Asia/Seoul")];
    let at_limit = "🇰".repeat(300);
    assert_eq!(at_limit.chars().count(), 300);
    let created = app
        .create_trip(
            "at-limit",
            trip(&at_limit, "officials/traveler", legs.clone()),
        )
        .await;
    assert_eq!(created.title, at_limit);
    let over = "한".repeat(301);
    let status = app
        .trips
        .clone()
        .create_trip(pb::CreateTripRequest {
            trip: Some(trip(&over, "officials/traveler", legs)),
            trip_id: "over".into(),
        })
        .await
        .expect_err("301 characters");
    assert_invalid(&status, "trip.title");
}
