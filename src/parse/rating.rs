//! Satisfaction ratings in replies to a resolution notice ("5", "4/5", "★★★★☆", "sehr gut"):
//! the score 1 (poor) to 5 (excellent), and the reply without it, which the caller gives to
//! [`thanks::is_only_thanks`] to decide whether the reply also disputes the fix. Pure.
//!
//! A reply is cut into lines and each line into clauses at punctuation; a rating must be a whole
//! clause, so numbers inside prose ("room 4 still has no sound") never count. When in doubt the
//! answer is `None`: a wrong rating pollutes the satisfaction report, a missed one costs nothing.

use regex::Regex;
use std::ops::Range;
use std::sync::LazyLock;

use crate::parse::thanks;

/// Longer replies only count a rating with a scale ("4/5", "★★★★☆", "rating: 4") that stands
/// on a line of its own; everything else needs a reply this short.
const MAX_CHARS: usize = 300;

/// Mail clients hard-wrap at 72–78 columns, so a line they broke is at least this long.
const MIN_WRAPPED_CHARS: usize = 60;

/// A customer's rating of the service, 1 (poor) to 5 (excellent), read from a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    /// 1 (poor) to 5 (excellent); "N/10" is halved and rounded up ("7/10" is 4).
    pub score: u8,
    /// What was read, as written ("4/5", "five stars", "sehr gut"), for the case history.
    pub written: String,
}

/// Reads a rating from the stripped text of a customer's reply (quotes already removed; lines
/// starting with `>` are skipped anyway). `None` when there is none, or when the reply holds
/// two ratings that disagree ("4\n5").
///
/// What counts, in a reply of at most 300 characters:
/// - with a scale, anywhere as a whole clause: "4/5", "4 / 5", "8/10" (halved, rounded up),
///   "4 stars", "4 Sterne", "4点", "五星", "★★★★☆" or "⭐⭐⭐⭐" (filled stars; a lone "⭐" is
///   decoration), "rating: 4", "I'd give it a 4", "note : 4", "оценка 5", "5 üzerinden 4",
///   "4 viidestä", "5点満点中4点", "打5分". In longer replies only on a line of its own.
/// - "4 out of 5", "vier von fünf", "4 sur 5", "4 de 5", "4 z 5", "4 из 5" ... ("of" is also
///   prose: "3 of 5 laptops"), and bare digits 1–5 and number words ("4", "five", "fünf",
///   "cinq", "пять", "五"), and the rating words below: as a whole line, or as a clause with
///   nothing but thanks before it on its line ("5, thanks!", "1 - still broken", "Danke. 4").
///   A bare digit is not read as an item of a list ("1. Outlook crashes", "2. Stock", "5, 6 and
///   7"). Number words that are also articles ("one" is read; "un", "ein", "en", "to" are not)
///   count only with a scale.
/// - the starred words of the table only as the whole reply ("Great!"), since "Great, thanks"
///   and "Gut, danke" are thanks, not ratings.
///
/// Rating words (\* only as the whole reply; traditional Chinese forms are read too):
///
/// | | 5 | 4 | 3 | 2 | 1 |
/// |---|---|---|---|---|---|
/// | en | excellent, outstanding, superb, exceptional, fantastic, brilliant, very good, great\*, perfect\* | good\* | average, so-so | bad | poor, very poor, very bad, terrible, awful, horrible, dreadful |
/// | de | ausgezeichnet, hervorragend, exzellent, erstklassig, sehr gut, perfekt\* | gut\* | mittelmäßig, befriedigend, geht so | schlecht | sehr schlecht, mangelhaft, ungenügend, miserabel, katastrophal, furchtbar, schrecklich |
/// | fr | excellent, exceptionnel, très bien, très bon, parfait\* |  | moyen, passable | mauvais | très mauvais, catastrophique, lamentable, horrible, terrible |
/// | es | excelente, muy bien, muy bueno, perfecto\* |  | regular | malo | muy malo, pésimo, horrible, terrible |
/// | it | eccellente, eccezionale, ottimo, molto buono, perfetto\* | buono\* | sufficiente, così così |  | pessimo, scadente, terribile, orribile |
/// | nl | uitstekend, heel goed, zeer goed, perfect\* | goed\* | redelijk | slecht | zeer slecht, heel slecht, waardeloos, verschrikkelijk |
/// | pt | excelente, ótimo, muito bom, perfeito\* | bom\* | razoável, regular | ruim, mau | péssimo, muito ruim, horrível, terrível |
/// | sv | utmärkt, mycket bra, jättebra, perfekt\* | bra\* |  | dålig, dåligt | mycket dålig, mycket dåligt, usel, uselt |
/// | da | fremragende, meget godt, perfekt\* | godt\* |  | dårlig, dårligt | meget dårlig, meget dårligt, elendig, elendigt |
/// | no | utmerket, fremragende, veldig bra, veldig godt, perfekt\* | bra\*, godt\* |  | dårlig, dårligt | veldig dårlig, elendig |
/// | pl | doskonale, znakomicie, bardzo dobrze, bardzo dobry, bardzo dobra, świetnie\* | dobry\* | średnio, przeciętnie | źle, słabo | bardzo źle, fatalnie, tragicznie, beznadziejnie |
/// | ru | отлично, превосходно, прекрасно, пятёрка | четвёрка | средне, так себе, тройка | плохо, двойка | очень плохо, ужасно |
/// | tr | mükemmel, çok iyi, harika\* | iyi\* | orta, idare eder | kötü | çok kötü, berbat, rezalet |
/// | fi | erinomainen, erinomaista, loistava, loistavaa, erittäin hyvä, tosi hyvä | hyvä\* | keskinkertainen, kohtalainen | huono | erittäin huono, surkea, kamala |
/// | cs | výborně, výborné, výborný, vynikající, velmi dobré, velmi dobře, skvělé\*, skvěle\* | dobré\* | průměrné, ujde | špatné, špatně | velmi špatné, velmi špatně, hrozné, hrozně, příšerné |
/// | ja | 最高, 大満足, 満点, とても良い, 非常に良い | 満足, 良い\*, よい\* | 普通 | 悪い, 不満 | 最悪, とても悪い |
/// | zh | 非常好, 优秀, 满分, 非常满意, 五星好评 | 满意, 不错, 很好\* | 一般 | 差, 不满意 | 很差, 非常差, 非常不满意 |
///
/// An English word may be followed by "service", "support", "job", "work" or "help"
/// ("excellent service"). Words that mostly mean "OK" ("ok", "fine", "bien", "bueno",
/// "хорошо", "好", "dobrze") are not ratings. Negated words ("not good", "nicht gut", "pas
/// bien") are not read at all: such a reply says "not fixed" more often than "2 of 5". Nor are
/// 0, 6, "10" without "/10", decimals ("4.5"), times, dates other than a bare "4/5", ids and
/// phone numbers. Digits follow the notice's scale even where school grades run the other way
/// (a German "1" is read as poor).
pub fn read(text: &str) -> Option<Rating> {
    find(text).map(|found| found.rating)
}

/// The text with the rating removed, with the punctuation that joined it to the rest and any
/// line left without letters or digits ("5, thanks!" → "thanks!", "1 - still broken" → "still
/// broken", "Thanks! 5/5" → "Thanks!"); the text unchanged when [`read`] finds no rating. The
/// rest is empty when nothing but emoji and punctuation is left ("5\n👍"): the reply was only
/// the rating. Check for that before asking [`thanks::is_only_thanks`], which calls an empty
/// text a dispute.
pub fn without(text: &str) -> String {
    let Some(found) = find(text) else {
        return text.to_owned();
    };
    let mut cuts = found.cuts;
    cuts.sort_by_key(|cut| cut.start);
    let mut out = String::with_capacity(text.len());
    for (start, line) in line_pieces(text) {
        let span = start..start + line.len();
        let mut kept = String::with_capacity(line.len());
        let (mut at, mut cut_any) = (span.start, false);
        for cut in cuts
            .iter()
            .filter(|cut| cut.start < span.end && cut.end > span.start)
        {
            let (from, to) = (cut.start.max(span.start), cut.end.min(span.end));
            kept.push_str(text.get(at..from.max(at)).unwrap_or_default());
            (at, cut_any) = (at.max(to), true);
        }
        kept.push_str(text.get(at..span.end).unwrap_or_default());
        if !cut_any {
            out.push_str(&kept);
        } else if kept.chars().any(char::is_alphanumeric) {
            let body = kept.trim_end_matches(['\n', '\r']);
            out.push_str(body.trim_end());
            out.push_str(&kept[body.len()..]);
        }
    }
    if !out.chars().any(char::is_alphanumeric) {
        // Only emoji and punctuation left ("5\n👍"): nothing that could dispute the fix.
        out.clear();
    }
    out
}

/// How much a form says by itself that it is a rating, which decides where it may stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A slash, stars, points or "rating:": any clause of a short reply, own line of a long one.
    Scale,
    /// "4 of 5" and friends: where a bare number may stand, or on its own line in a long reply.
    Worded,
    /// A bare digit or number word: not a list item.
    Number,
    /// A rating word.
    Word,
    /// A rating word that is also a reaction ("great", "gut"): only as the whole reply.
    Reaction,
}

/// The rating of a reply, and the byte ranges that [`without`] cuts (all clauses that agree).
struct Found {
    rating: Rating,
    cuts: Vec<Range<usize>>,
}

/// One piece of a line between separators, as byte offsets into the line: `start..end` is the
/// clause, `end..next` the separators and spaces after it.
#[derive(Debug, Clone, Copy)]
struct Clause {
    start: usize,
    end: usize,
    next: usize,
    dot: bool,
}

impl Found {
    fn new(score: u8, written: &str, cut: Range<usize>) -> Self {
        let rating = Rating {
            score,
            written: written.to_owned(),
        };
        Found {
            rating,
            cuts: vec![cut],
        }
    }
}

impl Clause {
    fn new(start: usize, end: usize, next: usize, dot: bool) -> Self {
        Clause {
            start,
            end,
            next,
            dot,
        }
    }
}

/// The number words of each value 1–5 and 10 in the 17 languages, with the forms that follow
/// "out of" ("z pięciu", "из пяти", "z pěti").
const NUMBER_WORDS: &[(u8, &str)] = &[
    (
        1,
        "one|eins|ein|eine|un|une|uno|una|een|één|um|uma|en|ett|et|jeden|jedna|jedno|один|одна|\
        bir|yksi|一",
    ),
    (
        2,
        "two|zwei|deux|dos|due|twee|dois|duas|två|to|dwa|dwie|два|две|iki|kaksi|dva|dvě|二|两|兩",
    ),
    (
        3,
        "three|drei|trois|tres|tre|drie|três|trzy|три|üç|kolme|tři|三",
    ),
    (
        4,
        "four|vier|quatre|cuatro|quattro|quatro|fyra|fire|cztery|четыре|dört|neljä|čtyři|四",
    ),
    (
        5,
        "five|fünf|fuenf|cinq|cinco|cinque|vijf|fem|pięć|pięciu|пять|пяти|beş|viisi|pět|pěti|五",
    ),
    (
        10,
        "ten|zehn|dix|diez|dieci|tien|tio|dziesięć|dziesięciu|десять|десяти|kymmenen|deset|\
        deseti|十",
    ),
];

/// Number words that are also articles or other words ("un", "ein", "en", "to", "fire"): read
/// only with a scale.
const AMBIGUOUS_NUMBERS: &str = "ein|eine|un|une|uno|una|een|um|uma|en|ett|et|to|due|bir|fire";

/// Units after a number: stars and points.
const UNITS: &str = "stars?|points?|pts|sterne|sternen|stern|punkte|punkten|étoiles?|etoiles?|\
    estrellas?|puntos?|stelle|stella|punti|sterren|ster|punten|estrelas?|pontos?|stjärnor|stjärna|\
    poäng|stjerner|stjerne|poeng|gwiazdki|gwiazdka|gwiazdek|punkty|punktów|звезды|звёзды|звезда|\
    звезд|звёзд|балла|баллов|балл|yıldız|puan|tähteä|tähti|pistettä|hvězdy|hvězdičky|hvězdička|\
    hvězdiček|hvězd|bodů|つ星|点|星|颗星|顆星";

/// "out of" between a score and its scale.
const CONNECTORS: &str = "out of|of|von|aus|sur|de|sobre|su|van|uit|op|av|af|ud af|på|z|ze|na|из";

/// Words that announce a rating: "rating:", "I'd give it a", "Bewertung:", "note :", "le doy
/// un", "voto", "ik geef", "betyg", "ocena", "оценка", "puan", "arvosana", "hodnocení", "評価".
const KEYS: &str = "(?:my |our )?(?:rating|score|grade|vote)(?: is| would be)?|rated|\
    i(?:'d| would| will)? (?:rate|give|score)(?: (?:it|you|you guys|this|that|the service|\
    your service|the support|your support|the team))?(?: (?:a|an|with))?|(?:meine )?bewertung|\
    ich (?:gebe|vergebe|bewerte)(?: (?:euch|ihnen|dir|es|das))?(?: (?:eine|mit))?|(?:ma )?note|\
    (?:mon )?évaluation|je (?:vous |te |lui )?(?:donne|mets)(?: un)?|(?:mi )?(?:puntuación|\
    puntuacion|calificación|calificacion|nota|valoración|valoracion)|(?:les? |te )?doy(?: un)?|\
    (?:il mio )?(?:voto|valutazione)|(?:vi |ti |le )?do(?: un)?|(?:mijn )?beoordeling|\
    ik geef(?: (?:jullie|je|u|het))?(?: een)?|(?:minha )?(?:avaliação|avaliacao)|\
    dou(?: (?:um|uma|nota))?|(?:mitt )?betyg|jag ger(?: (?:er|dig|det))?(?: en| ett)?|\
    bedømmelse|vurdering|jeg (?:giver|gir)(?: (?:jer|dig|dere|deg|det))?(?: en| et)?|\
    (?:moja )?ocena|daję|daje|oceniam(?: na)?|(?:моя )?оценка|ставлю(?: вам)?|\
    оцениваю(?: на)?|puan(?:ım|im)?|değerlendirme(?:m)?|arvosana|arvio|annan|(?:moje )?hodnocení|\
    hodnoceni|dávám|hodnotím|評価(?:は)?|评分|評分|评价|評價";

/// The rating words of [`read`]'s table; those in [`REACTIONS`] count only as the whole reply.
const RATING_WORDS: &[(u8, &str)] = &[
    (
        5,
        "excellent|outstanding|superb|exceptional|fantastic|brilliant|very good|great|perfect|\
        ausgezeichnet|hervorragend|exzellent|erstklassig|sehr gut|perfekt|exceptionnel|très bien|\
        très bon|parfait|excelente|muy bien|muy bueno|perfecto|eccellente|eccezionale|ottimo|\
        molto buono|perfetto|uitstekend|heel goed|zeer goed|ótimo|otimo|muito bom|perfeito|\
        utmärkt|mycket bra|jättebra|fremragende|meget godt|utmerket|veldig bra|veldig godt|\
        doskonale|znakomicie|bardzo dobrze|bardzo dobry|bardzo dobra|świetnie|отлично|\
        превосходно|прекрасно|пятёрка|пятерка|mükemmel|çok iyi|harika|erinomainen|erinomaista|\
        loistava|loistavaa|erittäin hyvä|tosi hyvä|výborně|výborné|výborný|vynikající|\
        velmi dobré|velmi dobře|skvělé|skvěle|最高|大満足|満点|とても良い|非常に良い|非常好|优秀|\
        優秀|满分|滿分|非常满意|非常滿意|五星好评",
    ),
    (
        4,
        "good|gut|buono|goed|bom|bra|godt|dobry|четвёрка|четверка|iyi|hyvä|dobré|満足|良い|よい|\
        满意|滿意|不错|不錯|很好",
    ),
    (
        3,
        "average|so-so|so so|mittelmäßig|befriedigend|geht so|moyen|passable|regular|sufficiente|\
        così così|redelijk|razoável|średnio|przeciętnie|средне|так себе|тройка|orta|idare eder|\
        keskinkertainen|kohtalainen|průměrné|ujde|普通|一般",
    ),
    (
        2,
        "bad|schlecht|mauvais|malo|slecht|ruim|mau|dålig|dåligt|dårlig|dårligt|źle|słabo|плохо|\
        двойка|kötü|huono|špatné|špatně|悪い|不満|差|不满意|不滿意",
    ),
    (
        1,
        "poor|very poor|very bad|terrible|awful|horrible|dreadful|sehr schlecht|mangelhaft|\
        ungenügend|miserabel|katastrophal|furchtbar|schrecklich|très mauvais|catastrophique|\
        lamentable|muy malo|pésimo|pessimo|scadente|terribile|orribile|zeer slecht|heel slecht|\
        waardeloos|verschrikkelijk|péssimo|muito ruim|horrível|terrível|mycket dålig|\
        mycket dåligt|usel|uselt|meget dårlig|meget dårligt|veldig dårlig|elendig|elendigt|\
        bardzo źle|fatalnie|tragicznie|beznadziejnie|очень плохо|ужасно|çok kötü|berbat|rezalet|\
        erittäin huono|surkea|kamala|velmi špatné|velmi špatně|hrozné|hrozně|příšerné|最悪|\
        とても悪い|很差|非常差|非常不满意|非常不滿意",
    ),
];

/// Rating words that are just as often a reaction ("Great, thanks!", "Gut, danke").
const REACTIONS: &str = "great|perfect|good|perfekt|gut|parfait|perfecto|perfetto|buono|goed|\
    perfeito|bom|bra|godt|dobry|świetnie|harika|iyi|hyvä|skvělé|skvěle|dobré|良い|よい|很好";

/// What may follow an English rating word ("excellent service").
const WORD_NOUNS: &[&str] = &[" service", " support", " job", " work", " help"];

/// Filled and empty stars; "🌟" is left out, as it is mostly decoration.
const FILLED_STARS: &[char] = &['★', '⭐'];
const EMPTY_STARS: &[char] = &['☆', '✩'];
/// Symbols that make a number something else ("#5", "5%", "$5", "+5"): not trimmed from a
/// clause, so that it does not read as a rating.
const KEPT_SYMBOLS: &[char] = &[
    '#', '$', '€', '£', '¥', '%', '+', '@', '&', '°', '§', '№', '=',
];
/// The emoji variation selector that often follows "⭐".
const VARIATION: char = '\u{FE0F}';

/// One regex per form, each with a group `n` (the score) and, if the form has one, `d` (the
/// scale) and `key` ("rating:").
static FORMS: LazyLock<Vec<(Regex, Kind)>> = LazyLock::new(|| {
    let num = number_pattern();
    let key = format!(r"(?P<key>(?:{KEYS})\s*[:：=]?\s*)");
    [
        (
            format!(r"{key}?(?P<n>{num})\s*[/／]\s*(?P<d>{num})(?:\s*(?:{UNITS}))?"),
            Kind::Scale,
        ),
        (
            format!(r"{key}?(?P<n>{num})\s+(?:{CONNECTORS})\s+(?P<d>{num})(?:\s*(?:{UNITS}))?"),
            Kind::Worded,
        ),
        (format!(r"{key}?(?P<n>{num})\s*(?:{UNITS})"), Kind::Scale),
        (format!(r"{key}(?P<n>{num})"), Kind::Scale),
        (
            format!(r"(?P<d>{num})\s+üzerinden\s+(?P<n>{num})(?:\s*(?:{UNITS}))?"),
            Kind::Scale,
        ),
        (format!(r"(?P<n>{num})\s+viidestä"), Kind::Scale),
        (
            format!(r"(?P<d>{num})\s*点\s*満点\s*(?:中|で)?\s*(?P<n>{num})\s*点?"),
            Kind::Scale,
        ),
        (format!(r"星\s*(?P<n>{num})\s*つ?"), Kind::Scale),
        (
            format!(r"(?:打|给|給)\s*(?P<n>{num})\s*(?:分|星|颗星|顆星)"),
            Kind::Scale,
        ),
        (format!(r"(?P<n>{num})"), Kind::Number),
    ]
    .into_iter()
    .map(|(pattern, kind)| {
        let re =
            Regex::new(&format!("(?i)^(?:{pattern})$")).expect("rating forms are valid regexes");
        (re, kind)
    })
    .collect()
});

/// Digits (ASCII and full-width) or any number word, longest first.
fn number_pattern() -> String {
    let mut words: Vec<&str> = NUMBER_WORDS
        .iter()
        .flat_map(|(_, words)| words.split('|'))
        .collect();
    words.sort_by_key(|word| std::cmp::Reverse(word.len()));
    format!("[0-9０-９]{{1,2}}|{}", words.join("|"))
}

/// The one rating of `text` and where it stands, if the reply holds exactly one score.
fn find(text: &str) -> Option<Found> {
    let short = text.chars().count() <= MAX_CHARS;
    let lines: Vec<(usize, &str, Vec<Clause>)> = line_spans(text)
        .filter(|(_, line)| !line.trim_start().starts_with('>'))
        .map(|(at, line)| (at, line, split(line)))
        .collect();
    let content = |line: &str, clauses: &[Clause]| {
        clauses
            .iter()
            .filter(|clause| !core(line, clause).is_empty())
            .count()
    };
    let only_clause = lines
        .iter()
        .map(|(_, line, clauses)| content(line, clauses))
        .sum::<usize>()
        == 1;
    let mut found: Option<Found> = None;
    let mut previous_line = "";
    for (at, line, clauses) in &lines {
        let wrapped = continues(std::mem::replace(&mut previous_line, line));
        let whole_line = content(line, clauses) == 1;
        // Where the text before a clause starts: after the ratings that open the line, so that
        // "5 - excellent" is one rating said twice and "1 - excellent" two that disagree.
        let mut from = 0;
        for clause in clauses {
            let written = core(line, clause);
            let Some((score, kind)) = classify(written) else {
                continue;
            };
            let before = line.get(from..clause.start).unwrap_or_default();
            let alone = || stands_alone(line, before, clause, kind == Kind::Number);
            let accepted = match kind {
                Kind::Scale => short || whole_line,
                Kind::Worded => !wrapped && (whole_line || short && alone()),
                Kind::Number => short && !wrapped && (whole_line || alone()),
                Kind::Word => short && (whole_line || alone()),
                Kind::Reaction => short && only_clause,
            };
            if !accepted {
                continue;
            }
            if !before.chars().any(char::is_alphanumeric) {
                from = clause.next;
            }
            let cut = at + clause.start..at + clause.next;
            match &mut found {
                None => found = Some(Found::new(score, written, cut)),
                Some(first) if first.rating.score == score => first.cuts.push(cut),
                Some(_) => return None,
            }
        }
    }
    found
}

/// Whether a line runs on into the next: a mail client's hard wrap can leave the number of
/// "... in room\n4." on a line of its own. Punctuation, thanks or a rating end a line; so does
/// a short one, which no client wraps.
fn continues(line: &str) -> bool {
    line.chars().count() >= MIN_WRAPPED_CHARS
        && line.trim_end().ends_with(char::is_alphanumeric)
        && !thanks::is_only_thanks(line)
        && classify(line.trim_matches(|c: char| !c.is_alphanumeric())).is_none()
}

/// Whether a clause that is not the whole line stands as a rating: only thanks `before` it on
/// its line, and for a bare number, no list ("1. Outlook crashes", "5, 6 and 7").
fn stands_alone(line: &str, before: &str, clause: &Clause, number: bool) -> bool {
    if before.chars().any(char::is_alphanumeric) && !thanks::is_only_thanks(before) {
        return false;
    }
    let after = line.get(clause.next..).unwrap_or_default();
    if !number || !after.chars().any(char::is_alphanumeric) {
        return true;
    }
    let next_is_number = after.trim_start().starts_with(|c: char| c.is_ascii_digit());
    !next_is_number && (!clause.dot || thanks::is_only_thanks(after))
}

/// The score and kind of a whole clause, if it is a rating.
fn classify(written: &str) -> Option<(u8, Kind)> {
    if written.starts_with(FILLED_STARS) || written.starts_with(EMPTY_STARS) {
        return stars(written).map(|score| (score, Kind::Scale));
    }
    let normal = written.replace(['’', '`', '´'], "'");
    let normal = normal.split_whitespace().collect::<Vec<_>>().join(" ");
    for (re, kind) in FORMS.iter() {
        let Some(caps) = re.captures(&normal) else {
            continue;
        };
        let n = caps.name("n").and_then(|n| number(n.as_str()))?;
        let kind = match kind {
            Kind::Worded if caps.name("key").is_some() => Kind::Scale,
            Kind::Number if listed(AMBIGUOUS_NUMBERS, &normal.to_lowercase()) => {
                return None;
            }
            kind => *kind,
        };
        let score = match caps.name("d").map(|d| number(d.as_str())) {
            None | Some(Some(5)) if (1..=5).contains(&n) => n,
            Some(Some(10)) if (1..=10).contains(&n) => n.div_ceil(2),
            _ => return None,
        };
        return Some((score, kind));
    }
    word(&normal.to_lowercase())
}

/// The score of a rating word, perhaps followed by an English noun ("excellent service").
fn word(lower: &str) -> Option<(u8, Kind)> {
    let bare = WORD_NOUNS
        .iter()
        .find_map(|noun| lower.strip_suffix(noun))
        .unwrap_or(lower);
    let (score, _) = RATING_WORDS.iter().find(|(_, words)| listed(words, bare))?;
    let kind = if listed(REACTIONS, bare) {
        Kind::Reaction
    } else {
        Kind::Word
    };
    Some((*score, kind))
}

/// The value of a digit string or number word.
fn number(written: &str) -> Option<u8> {
    let digits: String = written
        .chars()
        .map(|c| match c {
            '０'..='９' => {
                char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c)
            }
            c => c,
        })
        .collect();
    if let Ok(value) = digits.parse() {
        return Some(value);
    }
    let lower = written.to_lowercase();
    NUMBER_WORDS
        .iter()
        .find(|(_, words)| listed(words, &lower))
        .map(|(value, _)| *value)
}

/// The filled stars of a run such as "★★★★☆" or "⭐⭐⭐⭐": 2–5 filled stars, or any with
/// empty stars that make five in all. A lone "⭐" is decoration.
fn stars(run: &str) -> Option<u8> {
    let (mut filled, mut empty) = (0_usize, 0_usize);
    for c in run
        .chars()
        .filter(|c| !c.is_whitespace() && *c != VARIATION)
    {
        match c {
            c if FILLED_STARS.contains(&c) => filled += 1,
            c if EMPTY_STARS.contains(&c) => empty += 1,
            _ => return None,
        }
    }
    let score = u8::try_from(filled).ok()?;
    match empty {
        0 if (2..=5).contains(&filled) => Some(score),
        0 => None,
        _ if filled + empty == 5 && filled >= 1 => Some(score),
        _ => None,
    }
}

/// The lines of `text` with their byte offsets, each with its line end.
fn line_pieces(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut at = 0;
    text.split_inclusive('\n').map(move |piece| {
        let start = at;
        at += piece.len();
        (start, piece)
    })
}

/// The lines of `text` with their byte offsets, without line ends.
fn line_spans(text: &str) -> impl Iterator<Item = (usize, &str)> {
    line_pieces(text).map(|(start, piece)| (start, piece.trim_end_matches(['\n', '\r'])))
}

/// The clauses of one line: cut at sentence and clause marks ("," "!" "." before a space, a
/// spaced "-", "–", "(" ...), and around runs of star glyphs, which are clauses of their own.
/// ":" does not cut, so "rating: 4" stays one clause; nor does "." inside "4.5" or "e.g".
fn split(line: &str) -> Vec<Clause> {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let at = |i: usize| chars.get(i).map_or(line.len(), |&(at, _)| at);
    let mut clauses = Vec::new();
    let (mut start, mut i) = (0, 0);
    while let Some(&(here, c)) = chars.get(i) {
        let prev = i.checked_sub(1).and_then(|j| chars.get(j)).map(|&(_, c)| c);
        let next = chars.get(i + 1).map(|&(_, c)| c);
        if is_star(c) {
            if start < here {
                clauses.push(Clause::new(start, here, here, false));
            }
            while chars
                .get(i)
                .is_some_and(|&(_, c)| is_star(c) || c == VARIATION || c.is_whitespace())
            {
                i += 1;
            }
            let stars = line.get(here..at(i)).unwrap_or_default();
            clauses.push(Clause::new(
                here,
                here + stars.trim_end().len(),
                at(i),
                false,
            ));
            start = at(i);
            continue;
        }
        let cuts = match c {
            '.' => next.is_none_or(|n| !n.is_alphanumeric()),
            '-' => prev.is_none_or(char::is_whitespace) || next.is_none_or(char::is_whitespace),
            c => is_mark(c),
        };
        if !cuts {
            i += 1;
            continue;
        }
        let mut dot = false;
        while let Some(&(_, c)) = chars
            .get(i)
            .filter(|&&(_, c)| c.is_whitespace() || is_mark(c))
        {
            dot |= c == '.';
            i += 1;
        }
        clauses.push(Clause::new(start, here, at(i), dot));
        start = at(i);
    }
    if start < line.len() {
        clauses.push(Clause::new(start, line.len(), line.len(), false));
    }
    clauses
}

/// The clause without the spaces, quotes, brackets and emoji around it; a star run as is.
fn core<'a>(line: &'a str, clause: &Clause) -> &'a str {
    let raw = line.get(clause.start..clause.end).unwrap_or_default();
    if raw.starts_with(is_star) {
        return if stars(raw).is_some() { raw.trim() } else { "" };
    }
    raw.trim_matches(|c: char| !c.is_alphanumeric() && !KEPT_SYMBOLS.contains(&c))
}

/// Whether `word` is one of the `|`-separated words of `list`.
fn listed(list: &str, word: &str) -> bool {
    list.split('|').any(|listed| listed == word)
}

fn is_star(c: char) -> bool {
    FILLED_STARS.contains(&c) || EMPTY_STARS.contains(&c)
}

/// Marks that cut a line into clauses ("." and "-" only where [`split`] says), and that it
/// swallows after a cut.
fn is_mark(c: char) -> bool {
    matches!(
        c,
        ',' | ';'
            | '!'
            | '?'
            | '¡'
            | '¿'
            | '…'
            | '。'
            | '！'
            | '？'
            | '，'
            | '、'
            | '；'
            | '('
            | '|'
            | '–'
            | '—'
            | '-'
            | '.'
    )
}

#[cfg(test)]
mod tests;
