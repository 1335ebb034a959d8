//! People's photos over real HTTP: uploaded by the person or an administrator, never stored as
//! sent (metadata gone, turned upright, square, JPEG at each size), served to the organisation
//! only with an ETag, seen live by teammates, boards and another node; what is not a safe photo
//! is refused in words and changes nothing.

use crate::support::*;
use image::{DynamicImage, GenericImageView, ImageFormat, RgbImage};
use presence::UserId;
use protocol::{ClientMessage, ServerMessage};
use reqwest::header;
use serde_json::Value;
use std::io::Cursor;

on_both_databases!(
    a_photo_is_cleaned_turned_upright_and_seen_by_teammates_at_once,
    what_is_not_a_safe_photo_is_refused_in_words_and_changes_nothing,
    an_administrator_sets_and_removes_photos_in_their_own_organisation_only,
);

/// A portrait photo, 40 wide and 80 tall: red above, blue below, stored sideways as phones do
/// (EXIF orientation 6: turn 90° clockwise to show), with a GPS position and a description that
/// must not survive.
fn phone_photo() -> Vec<u8> {
    // Stored as the sensor saw it: 80 wide, 40 tall; shown turned clockwise, the left half
    // (red) goes on top.
    let sensor = RgbImage::from_fn(80, 40, |x, _| {
        if x < 40 {
            image::Rgb([220, 20, 20])
        } else {
            image::Rgb([20, 20, 220])
        }
    });
    let mut jpeg = Vec::new();
    DynamicImage::ImageRgb8(sensor)
        .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
        .unwrap();
    with_exif(&jpeg)
}

const SECRET: &[u8] = b"GPS-SECRET-HOME-ADDRESS";

/// `jpeg` with an EXIF segment after its start: a description, orientation 6 and a GPS block.
fn with_exif(jpeg: &[u8]) -> Vec<u8> {
    let mut tiff: Vec<u8> = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32| {
        t.extend(tag.to_le_bytes());
        t.extend(kind.to_le_bytes());
        t.extend(count.to_le_bytes());
        t.extend(value.to_le_bytes());
    };
    let gps_at = 8 + 2 + 3 * 12 + 4;
    let text_at = gps_at + 2 + 12 + 4;
    let mut text = SECRET.to_vec();
    text.push(0);
    tiff.extend(3u16.to_le_bytes());
    entry(&mut tiff, 0x010E, 2, text.len() as u32, text_at as u32);
    entry(&mut tiff, 0x0112, 3, 1, 6);
    entry(&mut tiff, 0x8825, 4, 1, gps_at as u32);
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(1u16.to_le_bytes());
    entry(&mut tiff, 0x0001, 2, 2, u32::from_le_bytes(*b"N\0\0\0"));
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(&text);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

fn encoded(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG of a few dozen bytes that claims `w` × `h` pixels at `depth` bits (a decompression
/// bomb's header, as an attacker would send it).
fn png_claiming(w: u32, h: u32, depth: u8) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let chunk = |out: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([depth, 6, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

async fn put(f: &Fixture, path: &str, bearer: &str, body: Vec<u8>) -> (u16, Value) {
    let r = f
        .http
        .put(f.url(path))
        .bearer_auth(bearer)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The photo as served: status, ETag and bytes.
async fn photo(
    f: &Fixture,
    of: &UserId,
    size: u32,
    bearer: &str,
    etag: Option<&str>,
) -> (u16, Option<String>, Vec<u8>) {
    let mut r = f
        .http
        .get(f.url(&format!("/people/{}/avatar?size={size}", of.as_str())))
        .bearer_auth(bearer);
    if let Some(tag) = etag {
        r = r.header(header::IF_NONE_MATCH, tag);
    }
    let r = r.send().await.expect("request");
    let status = r.status().as_u16();
    let tag = r
        .headers()
        .get(header::ETAG)
        .map(|v| v.to_str().unwrap().to_string());
    (status, tag, r.bytes().await.unwrap().to_vec())
}

fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn avatar_of(m: &ServerMessage, user: &UserId) -> Option<Option<String>> {
    match m {
        ServerMessage::TeamSnapshot { members, .. } | ServerMessage::BoardSnapshot { members } => {
            members
                .iter()
                .find(|x| &x.user == user)
                .map(|x| x.avatar.clone())
        }
        _ => None,
    }
}

async fn a_photo_is_cleaned_turned_upright_and_seen_by_teammates_at_once(backend: Backend) {
    let Some(f) = Fixture::start(backend).await else {
        return;
    };
    let mut bea = f.online(&f.bea, "bea-laptop").await;
    let mut cal = f.online(&f.cal, "cal-laptop").await;
    let mut board = f.online(&f.admin, "admin-console").await;
    board.send(&ClientMessage::WatchBoard).await;
    board
        .until("the board", |m| {
            matches!(m, ServerMessage::BoardSnapshot { .. })
        })
        .await;
    // A teammate on another node hears of it too.
    let (_broker, node) = f.another_node().await;
    let bea_token = f.token(&f.bea, "bea-phone").await;
    let mut bea_elsewhere = Client::connect(node.addr, &bea_token, "bea-phone", None).await;
    assert_eq!(
        bea_elsewhere
            .members
            .iter()
            .find(|m| m.user == f.cal)
            .unwrap()
            .avatar,
        None,
        "no photo yet: initials"
    );

    let cal_token = f.token(&f.cal, "cal-web").await;
    let upload = phone_photo();
    assert!(upload.windows(SECRET.len()).any(|w| w == SECRET));
    let (code, stored) = put(&f, "/me/avatar", &cal_token, upload).await;
    assert_eq!(code, 200, "{stored}");
    let version = stored["version"].as_str().unwrap().to_string();
    assert_eq!(stored["sizes"], serde_json::json!([32, 64, 128, 256]));

    // Live: teammates here and on the other node, the board, and cal's own devices (as `me`).
    for (who, client) in [
        ("bea", &mut bea),
        ("bea on another node", &mut bea_elsewhere),
        ("the board", &mut board),
    ] {
        let m = client
            .until(&format!("{who} sees the photo"), |m| {
                avatar_of(m, &f.cal) == Some(Some(version.clone()))
            })
            .await;
        drop(m);
    }
    cal.until("cal's own snapshot names the photo", |m| {
        matches!(m, ServerMessage::TeamSnapshot { me: Some(me), .. } if me.avatar.as_deref() == Some(version.as_str()))
    })
    .await;
    let (_, me) = f.get("/me", &cal_token).await;
    assert_eq!(me["avatar"], version.as_str());
    let (_, found) = f
        .get("/directory?q=cal", &f.token(&f.dan, "dan").await)
        .await;
    assert_eq!(found["people"][0]["member"]["avatar"], version.as_str());

    // Served to the organisation: square, JPEG, upright, and nothing of the upload's metadata.
    let bea_http = f.token(&f.bea, "bea-web").await;
    for size in [32, 64, 128, 256] {
        let (code, tag, jpeg) = photo(&f, &f.cal, size, &bea_http, None).await;
        assert_eq!(code, 200);
        assert_eq!(
            tag.as_deref(),
            Some(format!("\"{version}-{size}\"").as_str())
        );
        assert_eq!(image::guess_format(&jpeg).unwrap(), ImageFormat::Jpeg);
        let img = image::load_from_memory(&jpeg).unwrap();
        assert_eq!(img.dimensions(), (size, size));
        assert!(
            !jpeg.windows(SECRET.len()).any(|w| w == SECRET),
            "metadata gone"
        );
        assert!(!jpeg.windows(6).any(|w| w == b"Exif\0\0"), "no EXIF at all");
        // Turned upright: red above, blue below (stored sideways, it was red on the left).
        let top = img.get_pixel(size / 2, size / 8).0;
        let bottom = img.get_pixel(size / 2, size - 1 - size / 8).0;
        assert!(top[0] > 150 && top[2] < 100, "red above at {size}: {top:?}");
        assert!(
            bottom[2] > 150 && bottom[0] < 100,
            "blue below at {size}: {bottom:?}"
        );
    }
    // Asked for an odd size: the next stored one up.
    let (_, tag, _) = photo(&f, &f.cal, 100, &bea_http, None).await;
    assert_eq!(tag.as_deref(), Some(format!("\"{version}-128\"").as_str()));
    // Kept by the client: the same ETag is answered 304 with nothing, another 200.
    let tag = format!("\"{version}-64\"");
    let (code, _, body) = photo(&f, &f.cal, 64, &bea_http, Some(&tag)).await;
    assert_eq!((code, body.len()), (304, 0));
    let (code, _, _) = photo(&f, &f.cal, 64, &bea_http, Some("\"old-64\"")).await;
    assert_eq!(code, 200);
    // Another organisation's people do not see it, and cannot tell that it exists.
    let eve = f.token(&f.eve, "eve").await;
    let (code, _, body) = photo(&f, &f.cal, 64, &eve, None).await;
    assert_eq!(code, 404, "{}", String::from_utf8_lossy(&body));
    // Without a token, no photo.
    let r = f
        .http
        .get(f.url(&format!("/people/{}/avatar", f.cal.as_str())))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    // A new photo: a new version everywhere; the old one's ETag no longer matches.
    let square = encoded(
        DynamicImage::ImageRgb8(RgbImage::from_pixel(64, 64, image::Rgb([30, 160, 60]))),
        ImageFormat::Png,
    );
    let (code, again) = put(&f, "/me/avatar", &cal_token, square).await;
    assert_eq!(code, 200, "{again}");
    let newer = again["version"].as_str().unwrap().to_string();
    assert_ne!(newer, version);
    bea.until("bea sees the new photo", |m| {
        avatar_of(m, &f.cal) == Some(Some(newer.clone()))
    })
    .await;
    let (code, _, _) = photo(&f, &f.cal, 64, &bea_http, Some(&tag)).await;
    assert_eq!(code, 200, "the old ETag is stale");

    // Removed: initials again, for everyone.
    let r = f
        .http
        .delete(f.url("/me/avatar"))
        .bearer_auth(&cal_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    bea.until("bea sees initials again", |m| {
        avatar_of(m, &f.cal) == Some(None)
    })
    .await;
    let (code, _, body) = photo(&f, &f.cal, 64, &bea_http, None).await;
    assert_eq!(code, 404);
    assert!(
        String::from_utf8_lossy(&body).contains("initials"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    node.stop().await;
    f.finish().await;
}

async fn what_is_not_a_safe_photo_is_refused_in_words_and_changes_nothing(backend: Backend) {
    let Some(f) = Fixture::start(backend).await else {
        return;
    };
    let token = f.token(&f.cal, "cal").await;
    let good = encoded(
        DynamicImage::ImageRgb8(RgbImage::from_pixel(50, 50, image::Rgb([200, 120, 0]))),
        ImageFormat::WebP,
    );
    let (code, stored) = put(&f, "/me/avatar", &token, good).await;
    assert_eq!(code, 200, "a WebP photo: {stored}");
    let version = stored["version"].as_str().unwrap().to_string();

    let bmp = encoded(
        DynamicImage::ImageRgb8(RgbImage::new(20, 20)),
        ImageFormat::Bmp,
    );
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "text",
            b"hello, this is not a photo".to_vec(),
            422,
            "not a PNG, JPEG or WebP",
        ),
        ("a BMP", bmp, 422, "not accepted"),
        ("nothing", Vec::new(), 422, "no photo was sent"),
        (
            "a bomb's header (100,000 × 100,000)",
            png_claiming(100_000, 100_000, 8),
            422,
            "100000 × 100000 pixels",
        ),
        (
            "more pixels than memory allows (6000 × 6000 at 16 bits)",
            png_claiming(6000, 6000, 16),
            422,
            "memory",
        ),
        (
            "a cut-off PNG",
            png_claiming(40, 40, 8),
            422,
            "could not be read",
        ),
        (
            "6 MiB",
            vec![0xFF; 6 * 1024 * 1024],
            413,
            "larger than 5 MiB",
        ),
        (
            "a tiny icon",
            encoded(
                DynamicImage::ImageRgb8(RgbImage::new(8, 8)),
                ImageFormat::Png,
            ),
            422,
            "at least 16 pixels",
        ),
    ];
    for (what, body, status, words) in cases {
        let (code, answer) = put(&f, "/me/avatar", &token, body).await;
        assert_eq!(code, status, "{what}: {answer}");
        assert!(message(&answer).contains(words), "{what}: {answer}");
    }
    // The photo set before is still the one shown and served.
    assert_eq!(
        f.app().slot(&f.cal).unwrap().avatar.as_deref(),
        Some(version.as_str())
    );
    let (code, tag, _) = photo(&f, &f.cal, 64, &token, None).await;
    assert_eq!((code, tag), (200, Some(format!("\"{version}-64\""))));

    // A flood of changes is limited per person, and allowed again later.
    let small = |shade: u8| {
        encoded(
            DynamicImage::ImageRgb8(RgbImage::from_pixel(20, 20, image::Rgb([shade, 0, 0]))),
            ImageFormat::Png,
        )
    };
    let mut limited = None;
    for n in 0..12u8 {
        let (code, answer) = put(&f, "/me/avatar", &token, small(n * 10)).await;
        if code == 429 {
            limited = Some(answer);
            break;
        }
        assert_eq!(code, 200, "{answer}");
    }
    let limited = limited.expect("a flood of photo changes is limited");
    assert!(message(&limited).contains("too often"), "{limited}");
    f.clock.advance(presence::Span::minutes(7));
    let (code, answer) = put(&f, "/me/avatar", &token, small(255)).await;
    assert_eq!(code, 200, "{answer}");
    f.finish().await;
}

async fn an_administrator_sets_and_removes_photos_in_their_own_organisation_only(backend: Backend) {
    let Some(f) = Fixture::start(backend).await else {
        return;
    };
    let admin = f.token(&f.admin, "console").await;
    let member = f.token(&f.cal, "cal").await;
    let photo_bytes = encoded(
        DynamicImage::ImageRgb8(RgbImage::from_pixel(300, 200, image::Rgb([10, 90, 200]))),
        ImageFormat::Jpeg,
    );
    // By email or id, as the console does.
    let (code, stored) = put(
        &f,
        "/admin/users/bea@one.test/avatar",
        &admin,
        photo_bytes.clone(),
    )
    .await;
    assert_eq!(code, 200, "{stored}");
    assert_eq!(
        f.app().slot(&f.bea).unwrap().avatar.as_deref(),
        stored["version"].as_str()
    );
    // A member cannot set someone else's; nobody sets another organisation's.
    let (code, answer) = put(
        &f,
        &format!("/admin/users/{}/avatar", f.bea.as_str()),
        &member,
        photo_bytes.clone(),
    )
    .await;
    assert_eq!(code, 403, "{answer}");
    let (code, answer) = put(
        &f,
        &format!("/admin/users/{}/avatar", f.eve.as_str()),
        &admin,
        photo_bytes,
    )
    .await;
    assert_eq!(code, 404, "{answer}");
    assert!(f.app().slot(&f.eve).unwrap().avatar.is_none());
    // Removed by the administrator.
    let (code, _) = f
        .call(
            reqwest::Method::DELETE,
            "/admin/users/bea@one.test/avatar",
            &admin,
            None,
        )
        .await;
    assert_eq!(code, 204);
    assert!(f.app().slot(&f.bea).unwrap().avatar.is_none());
    // Both in the audit log, by whom.
    let (_, audit) = f.get("/admin/audit", &admin).await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["target"]
                .as_str()
                .unwrap_or_default()
                .contains("bea@one.test")
        })
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"user.photo_set"), "{audit}");
    assert!(actions.contains(&"user.photo_remove"), "{audit}");
    // Deleting a person deletes their photo with them.
    let (code, _) = put(
        &f,
        "/admin/users/dan@one.test/avatar",
        &admin,
        encoded(
            DynamicImage::ImageRgb8(RgbImage::from_pixel(40, 40, image::Rgb([1, 2, 3]))),
            ImageFormat::Png,
        ),
    )
    .await;
    assert_eq!(code, 200);
    let (code, _) = f
        .call(
            reqwest::Method::DELETE,
            "/admin/users/dan@one.test",
            &admin,
            None,
        )
        .await;
    assert_eq!(code, 204);
    f.finish().await;
}
