//! Unit tests: replies to "tell us how we did", by form and language, and prose that must not
//! read as a rating.
use super::*;

/// Replies and the score read from them.
const READ: &[(&str, u8)] = &[
    // digits, alone or with punctuation, emoji, quotes, thanks
    ("5", 5),
    ("5!", 5),
    ("4.", 4),
    ("\"3\"", 3),
    ("  2  \n", 2),
    ("5 👍", 5),
    ("5️⃣", 5),
    ("５", 5),
    ("5, thanks!", 5),
    ("1 - still broken", 1),
    ("4 – took a while, but fine", 4),
    ("Thanks! 5", 5),
    ("Danke. 4", 4),
    ("Hi Terry,\n\n4\n\nAnna", 4),
    ("Merci !\n5", 5),
    ("Hi Terry\n5", 5),
    (
        "The printer works again, but I had to restart it twice this morning\n4/5",
        4,
    ),
    ("4. Thanks!", 4),
    ("5 (excellent)", 5),
    // scales
    ("4/5", 4),
    ("4 / 5", 4),
    ("5/5 stars", 5),
    ("5/5!!", 5),
    ("4 out of 5", 4),
    ("4 of 5", 4),
    ("four out of five", 4),
    ("4 stars", 4),
    ("Five stars!", 5),
    ("10/10", 5),
    ("7/10", 4),
    ("3/10", 2),
    ("The printer works again, 4/5", 4),
    ("Thanks, works now.\n\n5/5", 5),
    // star glyphs
    ("★★★★☆", 4),
    ("★☆☆☆☆", 1),
    ("⭐⭐⭐⭐", 4),
    ("⭐️⭐️⭐️⭐️⭐️", 5),
    ("Thanks ⭐⭐⭐⭐⭐", 5),
    ("★★★★☆ (4/5)", 4),
    // announced
    ("rating: 4", 4),
    ("Rating 5/5", 5),
    ("score 4", 4),
    ("I'd give it a 4", 4),
    ("I’d give you guys a 5", 5),
    ("I rate it 5", 5),
    ("I would give it 4 stars", 4),
    // de
    ("4 von 5", 4),
    ("fünf Sterne", 5),
    ("Bewertung: 5", 5),
    ("fünf", 5),
    ("sehr gut", 5),
    ("Sehr gut, danke!", 5),
    ("Danke, hervorragend", 5),
    ("schlecht", 2),
    ("mangelhaft", 1),
    ("Gut!", 4),
    // fr
    ("4 sur 5", 4),
    ("cinq", 5),
    ("Note : 4/5", 4),
    ("Excellent, merci", 5),
    ("très bien", 5),
    ("mauvais", 2),
    // es
    ("4 de 5", 4),
    ("cinco estrellas", 5),
    ("Le doy un 5", 5),
    ("excelente", 5),
    ("Muy bien, gracias", 5),
    ("malo", 2),
    // it
    ("4 su 5", 4),
    ("cinque", 5),
    ("ottimo", 5),
    ("voto 4", 4),
    ("pessimo", 1),
    // nl
    ("4 van 5", 4),
    ("vijf", 5),
    ("uitstekend", 5),
    ("Heel goed, bedankt!", 5),
    ("slecht", 2),
    // pt
    ("4 de 5 estrelas", 4),
    ("ótimo", 5),
    ("nota 5", 5),
    ("péssimo", 1),
    // sv, da, no
    ("4 av 5", 4),
    ("fem", 5),
    ("mycket bra", 5),
    ("Tack, utmärkt!", 5),
    ("4 ud af 5", 4),
    ("fremragende", 5),
    ("veldig bra", 5),
    ("dårlig", 2),
    // pl
    ("4 na 5", 4),
    ("pięć", 5),
    ("5 gwiazdek", 5),
    ("Dziękuję, bardzo dobrze", 5),
    ("fatalnie", 1),
    // ru
    ("4 из 5", 4),
    ("пять", 5),
    ("Оценка: 5", 5),
    ("отлично", 5),
    ("Спасибо, отлично!", 5),
    ("плохо", 2),
    // tr
    ("5 üzerinden 4", 4),
    ("beş", 5),
    ("5 yıldız", 5),
    ("mükemmel", 5),
    ("berbat", 1),
    // fi
    ("4 viidestä", 4),
    ("viisi", 5),
    ("erinomainen", 5),
    ("Kiitos, loistava!", 5),
    ("huono", 2),
    // cs
    ("4 z 5", 4),
    ("pět", 5),
    ("výborně", 5),
    ("Díky, vynikající", 5),
    ("špatné", 2),
    // ja
    ("4/5点", 4),
    ("5点", 5),
    ("５点満点中４点", 4),
    ("星4つ", 4),
    ("五", 5),
    ("最高", 5),
    ("ありがとうございます。5点", 5),
    ("最悪", 1),
    // zh
    ("五星", 5),
    ("4星", 4),
    ("打5分", 5),
    ("谢谢！五星", 5),
    ("非常满意", 5),
    ("一般", 3),
    ("不满意", 2),
    // en words
    ("Excellent", 5),
    ("excellent service, thank you", 5),
    ("Great!", 5),
    ("Perfect 👍", 5),
    ("good", 4),
    ("average", 3),
    ("so-so", 3),
    ("bad", 2),
    ("Poor.", 1),
    ("Terrible. The printer still jams.", 1),
    ("5 - excellent", 5),
];

/// Replies in which nothing must be read as a rating.
const NOT_READ: &[&str] = &[
    "",
    "  \n ",
    "thanks!",
    "👍",
    "⭐",
    "Thanks ⭐",
    // numbers in prose
    "I have 2 printers that still don't work",
    "room 4 still has no sound",
    "it took 5 minutes",
    "Windows 10",
    "3 of the laptops work",
    "HD-000123",
    "see you at 5 pm",
    "on 3/4 it broke again",
    "It broke on 4/5/2024",
    "Call me at +49 5",
    "555-1234",
    "Ticket #5",
    "5%",
    "Room no. 4",
    "Thanks, 5 minutes later it crashed again",
    "Danke, bitte auch den Drucker im 2. Stock prüfen.",
    "2. Stock: Drucker geht nicht",
    "1. Outlook crashes\n2. The printer is jammed",
    "5, 6 and 7 still have no network",
    "3 - 4 days ago it stopped",
    "5分で直りました",
    // out of range, decimals, other scales
    "0",
    "6",
    "10",
    "0/5",
    "6/5",
    "4.5",
    "3/4",
    "I'd give it a 10",
    "☆☆☆☆☆",
    // disagreeing ratings
    "4\n5",
    "1 - excellent",
    // negated or reaction words
    "not good",
    "nicht gut",
    "pas bien",
    "no good",
    "Not great, still broken",
    "Great, thanks!",
    "Gut, danke",
    "Perfect, thank you! Outlook works again.",
    "ok",
    "OK, thanks",
    "fine",
    "Хорошо",
    "好",
    "Bien",
    // articles are not numbers
    "un",
    "ein",
    "en",
    // greetings before a bare number
    "Hi Terry, 5",
    // a hard-wrapped sentence
    "The projector works now, but the sound is still broken in room\n4.",
    "No, 5",
];

#[test]
fn ratings_are_read() {
    let wrong: Vec<String> = READ
        .iter()
        .filter_map(|&(text, score)| {
            let got = read(text).map(|rating| rating.score);
            (got != Some(score)).then(|| format!("{text:?}: expected {score}, got {got:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "misread: {wrong:#?}");
}

#[test]
fn prose_and_doubt_are_not_read() {
    let wrong: Vec<String> = NOT_READ
        .iter()
        .filter_map(|&text| read(text).map(|rating| format!("{text:?}: read {rating:?}")))
        .collect();
    assert!(wrong.is_empty(), "wrongly read: {wrong:#?}");
}

#[test]
fn written_is_the_rating_as_typed() {
    let written = |text: &str| read(text).map(|rating| rating.written);
    assert_eq!(written("4/5, thanks!").as_deref(), Some("4/5"));
    assert_eq!(written("Five stars!").as_deref(), Some("Five stars"));
    assert_eq!(written("Sehr gut, danke").as_deref(), Some("Sehr gut"));
    assert_eq!(written("★★★★☆").as_deref(), Some("★★★★☆"));
    assert_eq!(written("\"3\"").as_deref(), Some("3"));
}

#[test]
fn long_replies_need_a_scale_on_its_own_line() {
    let prose = "The printer works again, but I had to restart it twice. ".repeat(6);
    assert_eq!(
        read(&format!("{prose}\n4/5\nAnna")).map(|r| r.score),
        Some(4)
    );
    assert_eq!(read(&format!("4\n{prose}")), None);
    assert_eq!(read(&format!("{prose} I'd give it 4/5.")), None);
    assert_eq!(read(&format!("Excellent!\n{prose}")), None);
}

#[test]
fn quoted_lines_are_skipped() {
    assert_eq!(
        read("> reply with a number from 1 (poor) to 5 (excellent)"),
        None
    );
    assert_eq!(
        read("4\n> 1 (poor) to 5 (excellent)").map(|r| r.score),
        Some(4)
    );
}

#[test]
fn without_removes_the_rating() {
    let cases = [
        ("5, thanks!", "thanks!"),
        ("1 - still broken", "still broken"),
        ("Thanks! 5/5", "Thanks!"),
        ("Cheers, 4/5 — slow but fixed", "Cheers, slow but fixed"),
        ("5", ""),
        ("5 👍", ""),
        ("5\n\n👍 :)", ""),
        ("★★★★☆", ""),
        (
            "Hi Terry,\n\n4\n\nThanks, Anna",
            "Hi Terry,\n\n\nThanks, Anna",
        ),
        ("4/5\nThe scanner still jams.", "The scanner still jams."),
        ("5 - excellent, thanks", "thanks"),
        ("I'd give it a 4, thanks", "thanks"),
        ("room 4 still has no sound", "room 4 still has no sound"),
    ];
    for (text, rest) in cases {
        assert_eq!(without(text), rest, "without({text:?})");
    }
}

#[test]
fn the_rest_tells_thanks_from_a_dispute() {
    assert!(thanks::is_only_thanks(&without("5, thanks!")));
    assert!(thanks::is_only_thanks(&without("Danke. 4")));
    assert!(thanks::is_only_thanks(&without(
        "4/5\n\nMerci beaucoup, ça marche !"
    )));
    assert!(!thanks::is_only_thanks(&without("1 - still broken")));
    assert!(!thanks::is_only_thanks(&without(
        "2, the scanner doesn't work"
    )));
}

#[test]
fn odd_input_does_not_panic() {
    let odd = [
        "★",
        "⭐️",
        "-",
        "(",
        "5(",
        "—5—",
        "\u{FE0F}",
        "5\r\n",
        ">",
        "、",
        "🙂5🙂",
        "é5",
    ];
    let replies = READ
        .iter()
        .map(|(text, _)| *text)
        .chain(NOT_READ.iter().copied());
    for text in replies.chain(odd) {
        let cuts = text.char_indices().map(|(at, _)| at);
        for piece in cuts.flat_map(|at| [&text[..at], &text[at..]]) {
            // Only that they return matters here.
            drop((read(piece), without(piece)));
        }
    }
}
