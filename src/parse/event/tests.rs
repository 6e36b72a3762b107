//! Unit tests: dates, times, place, travel, hardware, tasks and site of conference-support
//! requests, read on a fixed day (Sunday 6 December 2026).
use super::*;

/// The day every test message arrives: a Sunday.
fn today() -> Date {
    Date::constant(2026, 12, 6)
}

/// A date in the tests' own tables; the table is constant, so a bad entry is a test bug.
fn d(iso: &str) -> Date {
    iso.parse().expect("test dates are valid ISO dates")
}

/// A time of day "HH:MM" in the tests' own tables.
fn t(hhmm: &str) -> Time {
    hhmm.parse().expect("test times are valid")
}

/// Phrasings and the dates they name, read on [`today`]. Empty: must not be read as a date.
const DATES: &[(&str, &[&str])] = &[
    // Single dates, with and without a year.
    ("12 March 2027", &["2027-03-12"]),
    ("12th March", &["2027-03-12"]),
    ("the 12th of March", &["2027-03-12"]),
    ("March 12", &["2027-03-12"]),
    ("March 12th, 2027", &["2027-03-12"]),
    ("Mar 12", &["2027-03-12"]),
    ("Sept. 3", &["2027-09-03"]),
    ("sept 3rd", &["2027-09-03"]),
    ("3/12/2027", &["2027-03-12"]),
    ("3/12", &["2027-03-12"]),
    ("3/12/27", &["2027-03-12"]),
    ("2027-03-12", &["2027-03-12"]),
    ("Friday, March 12", &["2027-03-12"]),
    ("Fri 12 March", &["2027-03-12"]),
    ("March 12 (Friday)", &["2027-03-12"]),
    ("Sat 12/12", &["2026-12-12"]),
    ("May 5", &["2027-05-05"]),
    ("5 May", &["2027-05-05"]),
    ("12th may", &["2027-05-12"]),
    ("Dec 25, 2026", &["2026-12-25"]),
    ("12/25", &["2026-12-25"]),
    ("2026-12-01", &["2026-12-01"]),
    ("12 March 1999", &["1999-03-12"]),
    // Year inferred forward: today counts, yesterday is next year.
    ("December 8", &["2026-12-08"]),
    ("December 6", &["2026-12-06"]),
    ("December 5", &["2027-12-05"]),
    ("Feb 29", &["2028-02-29"]),
    // Ranges and lists.
    ("12-14 March", &["2027-03-12", "2027-03-13", "2027-03-14"]),
    ("12–14 March", &["2027-03-12", "2027-03-13", "2027-03-14"]),
    (
        "12th - 14th of March",
        &["2027-03-12", "2027-03-13", "2027-03-14"],
    ),
    ("March 12-14", &["2027-03-12", "2027-03-13", "2027-03-14"]),
    (
        "March 12-14, 2028",
        &["2028-03-12", "2028-03-13", "2028-03-14"],
    ),
    (
        "12 to 14 March",
        &["2027-03-12", "2027-03-13", "2027-03-14"],
    ),
    (
        "March 12 through 14",
        &["2027-03-12", "2027-03-13", "2027-03-14"],
    ),
    (
        "from 12 to 14 March",
        &["2027-03-12", "2027-03-13", "2027-03-14"],
    ),
    (
        "12 March - 14 March",
        &["2027-03-12", "2027-03-13", "2027-03-14"],
    ),
    ("3/12 - 3/14", &["2027-03-12", "2027-03-13", "2027-03-14"]),
    (
        "between March 12 and March 14",
        &["2027-03-12", "2027-03-13", "2027-03-14"],
    ),
    (
        "March 30 - April 2",
        &["2027-03-30", "2027-03-31", "2027-04-01", "2027-04-02"],
    ),
    (
        "Dec 30 - Jan 2",
        &["2026-12-30", "2026-12-31", "2027-01-01", "2027-01-02"],
    ),
    ("5-7 December", &["2026-12-05", "2026-12-06", "2026-12-07"]),
    ("March 1 - June 30", &["2027-03-01", "2027-06-30"]),
    ("12 and 13 March", &["2027-03-12", "2027-03-13"]),
    ("March 12 and 13", &["2027-03-12", "2027-03-13"]),
    (
        "5, 6 and 7 May",
        &["2027-05-05", "2027-05-06", "2027-05-07"],
    ),
    ("March 12 and March 14", &["2027-03-12", "2027-03-14"]),
    // Weekdays and relative days.
    ("on Thursday", &["2026-12-10"]),
    ("next Tuesday", &["2026-12-08"]),
    ("this Sunday", &["2026-12-13"]),
    ("Thursday and Friday", &["2026-12-10", "2026-12-11"]),
    (
        "Thursday through Saturday",
        &["2026-12-10", "2026-12-11", "2026-12-12"],
    ),
    ("tomorrow", &["2026-12-07"]),
    ("the day after tomorrow", &["2026-12-08"]),
    // In sentences.
    (
        "We need a tech on Friday, March 12 and Saturday, March 13.",
        &["2027-03-12", "2027-03-13"],
    ),
    ("the event is March 12 from 9am-5pm", &["2027-03-12"]),
    ("March 12 - 5pm", &["2027-03-12"]),
    (
        "Conference 12-14 March 2027 at 9:00",
        &["2027-03-12", "2027-03-13", "2027-03-14"],
    ),
    // Not dates.
    ("Feb 30", &[]),
    ("31 April", &[]),
    ("2027-02-30", &[]),
    ("13/45", &[]),
    ("call 405-555-1212", &[]),
    ("Windows 10", &[]),
    ("Windows 10 May update", &[]),
    ("v2.3.12", &[]),
    ("Room 204", &[]),
    ("Room 12 March", &[]),
    ("HD-000123", &[]),
    ("3/4 of the room", &[]),
    ("1/2 day", &[]),
    ("24/7 support", &[]),
    ("we may need", &[]),
    ("May I ask", &[]),
    ("12 may be enough", &[]),
    ("we march in", &[]),
    ("at 10:30", &[]),
    ("150 families", &[]),
    ("2 mics", &[]),
    ("192.168.1.12", &[]),
    ("10.0.0.1/24", &[]),
    ("we need 12 laptops in March", &[]),
    ("March 12 people", &[]),
    ("last Friday", &[]),
    ("on Fridays", &[]),
    ("16:9 screen", &[]),
];

#[test]
fn dates_table() {
    assert!(
        DATES.len() >= 60,
        "the issue asks for at least 60 phrasings"
    );
    let mut failures = Vec::new();
    for (text, expected) in DATES {
        let expected: Vec<Date> = expected.iter().map(|e| d(e)).collect();
        let got = dates(text, today());
        if got != expected {
            failures.push(format!("{text:?}: got {got:?}, want {expected:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn one_date_expression() {
    assert_eq!(date(" 12 March ", today()), Some(d("2027-03-12")));
    assert_eq!(date("2027-03-12", today()), Some(d("2027-03-12")));
    assert_eq!(date("Friday", today()), Some(d("2026-12-11")));
    assert_eq!(date("tomorrow", today()), Some(d("2026-12-07")));
    assert_eq!(date("3/12", today()), Some(d("2027-03-12")));
    assert_eq!(date("Sept.", today()), None);
    assert_eq!(date("by 12 March", today()), None);
    assert_eq!(date("12-14 March", today()), None);
    assert_eq!(date("Feb 30", today()), None);
    assert_eq!(date("", today()), None);
}

/// A text and the times it names, as ("HH:MM", optional "HH:MM").
type TimeCase = (
    &'static str,
    &'static [(&'static str, Option<&'static str>)],
);

#[test]
fn times() {
    let cases: &[TimeCase] = &[
        ("at 9am", &[("09:00", None)]),
        ("at 9 am", &[("09:00", None)]),
        ("from 9:30 a.m. on", &[("09:30", None)]),
        ("9.30am", &[("09:30", None)]),
        ("starts 18:30", &[("18:30", None)]),
        ("at noon", &[("12:00", None)]),
        ("at 6 pm", &[("18:00", None)]),
        ("12am", &[("00:00", None)]),
        ("9am-5pm", &[("09:00", Some("17:00"))]),
        ("9am – 5pm", &[("09:00", Some("17:00"))]),
        ("from 8:00 to 16:00", &[("08:00", Some("16:00"))]),
        ("9-5pm", &[("09:00", Some("17:00"))]),
        ("1-5pm", &[("13:00", Some("17:00"))]),
        ("between 9am and noon", &[("09:00", Some("12:00"))]),
        (
            "at 9am and at 2pm, again at 9am",
            &[("09:00", None), ("14:00", None)],
        ),
        ("12-14 March 9am-5pm", &[("09:00", Some("17:00"))]),
        ("9 to 5", &[]),
        ("16:9 screen, version 2.30, 24/7", &[]),
        ("Windows 10, 150 families", &[]),
    ];
    for (text, expected) in cases {
        let expected: Vec<(Time, Option<Time>)> =
            expected.iter().map(|(s, e)| (t(s), e.map(t))).collect();
        assert_eq!(read(text, today()).times, expected, "{text:?}");
    }
}

#[test]
fn place() {
    let cases: &[(&str, Option<&str>)] = &[
        (
            "AV help\nThe expo is at the Oklahoma City Convention Center on 12 March.",
            Some("Oklahoma City Convention Center"),
        ),
        (
            "Board meeting\nWe meet in the board room on Friday.",
            Some("the board room"),
        ),
        (
            "Training\nIt is in Room 204, second floor.",
            Some("Room 204"),
        ),
        (
            "Gala\nLocation: Grand Ballroom, 100 Main Street\nDate: 12 March",
            Some("Grand Ballroom, 100 Main Street"),
        ),
        (
            "Gala\nWe are at The Hilton Hotel downtown.",
            Some("Hilton Hotel"),
        ),
        (
            "Event\nThe address is 100 Main Street, Springfield.",
            Some("100 Main Street"),
        ),
        (
            "Support at Hilton Garden Inn\nPlease help.",
            Some("Hilton Garden Inn"),
        ),
        ("Question\nCall the IT Service Center.", None),
        ("Question\nWe need a projector.", None),
    ];
    for (text, expected) in cases {
        assert_eq!(read(text, today()).place.as_deref(), *expected, "{text:?}");
    }
}

#[test]
fn travel() {
    let event = read(
        "Conf\nWe fly out on 11 March at 7am. Hotel rooms are booked.",
        today(),
    );
    assert_eq!(
        event.travel.as_deref(),
        Some("We fly out on 11 March at 7am.")
    );
    assert!(event.travel_times);
    // The travel's day is not a day of support: that is still to be asked.
    assert!(event.dates.is_empty());
    assert_eq!(event.missing(&Site::Unknown)[0], Detail::When);

    // Beside the event's own day, the travel's date and time are not days or times of support.
    let event = read(
        "Summit on 12 March, 9am-5pm.\nWe fly out on 11 March at 7am.",
        today(),
    );
    assert_eq!(event.dates, [jiff::civil::date(2027, 3, 12)]);
    assert_eq!(event.times.len(), 1);
    assert!(event.travel_times);

    let event = read(
        "Conf\nThe tech will need to drive there and stay overnight.",
        today(),
    );
    assert_eq!(
        event.travel.as_deref(),
        Some("The tech will need to drive there and stay overnight.")
    );
    assert!(!event.travel_times);

    let event = read(
        "Conf\nCopy it to the shared drive. Training on 12 March.",
        today(),
    );
    assert_eq!(event.travel, None);
    assert!(!event.travel_times);
}

#[test]
fn hardware() {
    let text = "AV for the summit\nWe need a projector and projector screen, two wireless mics, \
        a laptop with HDMI cables, Wi-Fi for 150 guests and a document camera. The keynote \
        speakers will use a clicker. Please livestream it on Zoom and bring a speakerphone.";
    assert_eq!(
        read(text, today()).hardware,
        [
            "projector",
            "screen",
            "microphone",
            "laptop",
            "cables",
            "wifi",
            "document camera",
            "clicker",
            "livestream",
            "video conference",
            "speakerphone",
        ]
    );
    let text = "Hi Mike\nBring portable speakers, a TV, a hotspot and the badge printer. \
        Screen sharing must work on the network; networking lunch at noon.";
    assert_eq!(
        read(text, today()).hardware,
        ["speakers", "tv", "hotspot", "printer", "network"]
    );
    assert!(read("Thanks\nWe may need help.", today())
        .hardware
        .is_empty());
}

#[test]
fn tasks() {
    let text = "Tech support for conference\nHello. We need a technician to set up the \
        projector and run the slides. Thanks.";
    assert_eq!(
        read(text, today()).tasks.as_deref(),
        Some("We need a technician to set up the projector and run the slides.")
    );
    let subject_only = "Need someone to operate the sound board\n12 March, main hall.";
    assert_eq!(
        read(subject_only, today()).tasks.as_deref(),
        Some("Need someone to operate the sound board")
    );
    let text = "Board meeting\nIt is next Tuesday. Can someone be there 30 min early to test?";
    assert_eq!(
        read(text, today()).tasks.as_deref(),
        Some("Can someone be there 30 min early to test?")
    );
    assert_eq!(read("Hello\nJust a question.", today()).tasks, None);
}

#[test]
fn site_cues() {
    let premises: Vec<String> = ["head office", "Main Campus", "board room", "Room 204"]
        .map(String::from)
        .to_vec();
    let on = |s: &str| Site::OnPremises(s.to_string());
    let off = |s: &str| Site::OffSite(s.to_string());
    let cases: &[(&str, Site)] = &[
        ("It is in the Board Room.", on("board room")),
        ("room 204, 9am", on("Room 204")),
        ("at the main campus", on("Main Campus")),
        ("Off-site event at our head office venue", off("off-site")),
        ("offsite retreat", off("offsite")),
        ("The venue is the head office", on("head office")),
        ("It is on premises", on("on premises")),
        ("held in-house", on("in-house")),
        ("at our office downtown", on("our office")),
        ("at the Hilton Hotel", off("hotel")),
        ("Oklahoma City Convention Center", off("convention center")),
        ("the fairgrounds", off("fairgrounds")),
        ("onsite support at the resort", off("resort")),
        ("we need onsite support", on("onsite")),
        ("Room 2045", Site::Unknown),
        ("Just a projector, please.", Site::Unknown),
    ];
    for (text, expected) in cases {
        assert_eq!(site(text, &premises), *expected, "{text:?}");
    }
    assert_eq!(site("in the board room", &[]), Site::Unknown);
    assert_eq!(
        site("anything", &[String::new(), "  ".into()]),
        Site::Unknown
    );
}

#[test]
fn merge_fills_and_unions() {
    let mut first = read(
        "Conf\nWe need a projector on 12 March at the Hilton Hotel.",
        today(),
    );
    let reply = read(
        "Re: Conf\nAlso 13 March and 12 March, 9am-5pm, a projector and mics, at the \
        Marriott Hotel. We drive there on 11 March. A tech to run the slides.",
        today(),
    );
    first.merge(reply);
    assert_eq!(
        first.dates,
        [d("2027-03-12"), d("2027-03-13")],
        "the travel's 11 March is no day of support"
    );
    assert_eq!(first.times, [(t("09:00"), Some(t("17:00")))]);
    assert_eq!(first.hardware, ["projector", "microphone"]);
    assert_eq!(first.place.as_deref(), Some("Hilton Hotel"));
    assert_eq!(first.travel.as_deref(), Some("We drive there on 11 March."));
    assert!(first.travel_times);
    assert_eq!(first.tasks.as_deref(), Some("A tech to run the slides."));
}

#[test]
fn missing_details() {
    let empty = Event::default();
    assert_eq!(
        empty.missing(&Site::Unknown),
        [
            Detail::When,
            Detail::Place,
            Detail::Travel,
            Detail::TravelTimes,
            Detail::Hardware,
            Detail::Tasks,
        ]
    );
    assert_eq!(
        empty.missing(&Site::OnPremises("head office".into())),
        [Detail::When, Detail::Hardware, Detail::Tasks]
    );
    assert_eq!(
        empty.missing(&Site::OffSite("hotel".into())),
        [
            Detail::When,
            Detail::Travel,
            Detail::TravelTimes,
            Detail::Hardware,
            Detail::Tasks
        ]
    );
    let text = "Expo support\nThe expo is 12-14 March at the Oklahoma City Convention Center. \
        We need a technician to set up two projectors and mics. We fly out on 11 March at 7am.";
    let event = read(text, today());
    assert_eq!(event.missing(&site(text, &[])), []);
    let event = read(
        "Expo support\nThe expo is 12-14 March, we need a projector.",
        today(),
    );
    assert_eq!(
        event.missing(&Site::Unknown),
        [
            Detail::Place,
            Detail::Travel,
            Detail::TravelTimes,
            Detail::Tasks
        ]
    );
    for detail in [
        Detail::When,
        Detail::Place,
        Detail::Travel,
        Detail::TravelTimes,
    ] {
        assert!(!detail.ask().is_empty() && !detail.as_str().is_empty());
    }
    assert_eq!(Detail::TravelTimes.as_str(), "travel_times");
}

#[test]
fn json_round_trip() {
    let text = "Expo support\nThe expo is 12-14 March, 9am-5pm and at 18:30, at the Oklahoma \
        City Convention Center. We need a technician with a projector. We fly out on 11 March.";
    let event = read(text, today());
    let json = event.to_json();
    assert_eq!(json["dates"][0], "2027-03-12");
    assert_eq!(json["times"][0], serde_json::json!(["09:00", "17:00"]));
    assert_eq!(json["times"][1], serde_json::json!(["18:30", null]));
    assert_eq!(Event::from_json(&json), Some(event));
    assert_eq!(
        Event::from_json(&serde_json::json!({})),
        Some(Event::default())
    );
    assert_eq!(
        Event::from_json(&serde_json::json!({"dates": ["2027-02-30"]})),
        None
    );
    assert_eq!(
        Event::from_json(&serde_json::json!({"times": [["25:00"]]})),
        None
    );
    assert_eq!(Event::from_json(&serde_json::json!([1, 2])), None);
}

#[test]
fn odd_input_does_not_panic() {
    let odd = [
        "",
        "\n",
        "12",
        "-",
        "/",
        "12/",
        "/12",
        "31/",
        "12-",
        "–14 March",
        "March",
        "May.",
        "9:",
        ":30",
        "am",
        "12 12 12 12",
        "ÄÖÜ 12 März ß",
        "日本 3/12 会議",
        "🎉 12–14 March 🎉",
        "1/1/1",
        "99/99/9999",
        "9999-99-99",
        "0/0",
        "0 March",
        "Dec 31 9999",
        "12 March 9999",
        "Location:",
        "Location: \n",
        "Room",
        "between and",
        "from to",
        "9am-",
        "-5pm",
        "\r\n\r\n",
    ];
    for text in odd {
        let event = read(text, today());
        let _ = date(text, today());
        let _ = site(text, &["".into(), "ß".into()]);
        assert_eq!(Event::from_json(&event.to_json()), Some(event), "{text:?}");
    }
    let late = Date::constant(9999, 12, 30);
    assert_eq!(dates("12 March to 14 March, 3/12 - 3/14", late), []);
    assert!(dates("tomorrow, Friday, next week", late)
        .iter()
        .all(|d| *d > late));
    assert_eq!(dates("Dec 31", late), [Date::constant(9999, 12, 31)]);
}
