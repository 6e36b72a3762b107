//! Unit tests: real replies to "your case was resolved" mails, by language.
use super::*;

/// Replies that must not reopen the case.
const ONLY_THANKS: &[&str] = &[
    // en
    "thanks",
    "Thanks!",
    "Thank you, works now",
    "thank you so much!! 👍",
    "Thx :)",
    "Many thanks, that fixed it.",
    "Thanks Terry, all good now",
    "Hi Terry,\n\nthanks a lot, it's working again!\n\nBest regards,\nAnna",
    "Hello,\nthank you for the quick help. Problem solved.\nCheers\nTom",
    "Cheers mate, that did the trick",
    "Thanks, you can close the ticket.",
    "Great, thanks!\nAnna Roth",
    "Dear Mr. Smith,\nthank you, the issue is resolved.\nKind regards,\nAnna Müller",
    "Perfect, thank you! Outlook works again.",
    "ty, works fine now",
    "Thanks!\n\n- Anna",
    "Thanks, I can log in again.",
    "Awesome, thanks so much for your help!",
    // de
    "Danke, funktioniert wieder!",
    "Danke, passt",
    "Hallo Herr Meier,\nvielen Dank, jetzt funktioniert es wieder.\nMit freundlichen Grüßen\nAnna Schmidt",
    "Super, danke! Drucker läuft wieder.",
    "Vielen Dank für die schnelle Hilfe!\nGruß Peter",
    "Danke, hat sich erledigt.",
    "Dankeschön, alles gut 🙂",
    "Danke Herr Dr. Meier",
    "Hallo,\nes geht jetzt wieder, danke!\nLG",
    // fr
    "Merci beaucoup, ça marche !",
    "Bonjour,\nmerci pour votre aide, tout fonctionne.\nCordialement,\nMarie",
    "Merci, problème résolu.",
    "Un grand merci, c'est réglé",
    // es
    "Gracias, ya funciona",
    "¡Muchas gracias! Problema resuelto.\nSaludos,\nJuan",
    "Hola, gracias, todo bien ahora",
    // it
    "Grazie mille",
    "Grazie, ora funziona!\nCordiali saluti\nMarco",
    "Ciao, grazie, problema risolto",
    // nl
    "Bedankt, werkt weer!",
    "Dank je wel, het probleem is opgelost.\nMet vriendelijke groet,\nJan de Vries",
    // pt
    "Obrigado",
    "Muito obrigada, já funciona!",
    "Olá, obrigado, deu certo.\nAbraços",
    // sv, da, no
    "Tack så mycket, det fungerar nu!",
    "Tack!\nMvh Erik",
    "Mange tak, det virker igen",
    "Tusen takk, alt er bra nå.\nHilsen Ola",
    // pl
    "Dziękuję, już działa!",
    "Dzień dobry,\ndziękuję bardzo, problem rozwiązany.\nPozdrawiam\nKasia",
    // ru
    "Спасибо, всё работает!",
    "Большое спасибо, проблема решена.\nС уважением, Иван",
    // ja
    "ありがとうございます",
    "ありがとうございます！直りました。",
    "田中さん、ありがとうございました。解決しました。",
    // zh
    "谢谢",
    "谢谢，问题解决了！",
    "非常感谢，可以用了",
    "谢谢你的帮助！",
    // tr
    "Teşekkürler",
    "Teşekkür ederim, sorun çözüldü.",
    "Çok teşekkürler, artık çalışıyor 👍",
    // fi
    "Kiitos",
    "Kiitos, nyt toimii!",
    "Kiitos paljon, ongelma ratkesi.\nTerveisin\nMatti",
    // cs
    "Děkuji",
    "Děkuji, už to funguje.",
    "Díky, problém vyřešen!\nS pozdravem\nJan Novák",
];

/// Replies that must reopen the case (or at least not be swallowed as thanks).
const NOT_ONLY_THANKS: &[&str] = &[
    "",
    "   \n\n ",
    "👍",
    "Hi Terry,",
    "Best regards,\nAnna",
    // en
    "thanks, but it still doesn't work",
    "Thanks! One more thing: the printer in room 4 is jammed.",
    "thanks, can you also reset my password?",
    "Thanks. Not fixed.",
    "still broken",
    "Thanks, it works now but only sometimes",
    "Doesn't work, thanks",
    "Thanks for nothing",
    "No thanks",
    "Thanks :(",
    "Thanks in advance!",
    "Thanks, it worked for a day and now the error is back",
    "Thanks, I'll try it tomorrow and let you know.",
    "Thanks, please reopen, the VPN is down again",
    "Thank you. Printer jammed again.",
    "Thanks, printer jammed",
    "Thanks, my account is locked",
    "Thanks, it worked yesterday",
    "Thanks, the printer works but the scanner is broken",
    "Thanks for the fix. Could you also look at the scanner",
    "Thanks,\nthe laptop still shows the same error message when I start Excel.\nAnna",
    "Thanks! It works.\nHowever, Outlook crashes.\nAnna",
    // de
    "Danke, aber es geht immer noch nicht",
    "Danke. Leider funktioniert es nicht.",
    "Funktioniert nicht",
    "Danke, der Fehler kommt weiterhin.",
    "Vielen Dank im Voraus!",
    "Danke, bitte auch den Drucker im 2. Stock prüfen.",
    "Danke, jetzt stürzt Word ab",
    // fr
    "Merci, mais ça ne marche pas",
    "Merci, ça ne marche toujours pas.",
    "Merci, ça n'a pas marché",
    // es
    "Gracias, pero no funciona",
    "Gracias, sigue sin funcionar",
    // it
    "Grazie, ma non funziona ancora",
    "Grazie, purtroppo il problema persiste",
    // nl
    "Bedankt, maar het werkt niet",
    "Bedankt, werkt nog steeds niet",
    // pt
    "Obrigado, mas ainda não funciona",
    // sv, da, no
    "Tack, men det fungerar inte",
    "Tak, men det virker stadig ikke",
    "Takk, men det fungerer fortsatt ikke",
    // pl
    "Dziękuję, ale nadal nie działa",
    // ru
    "Спасибо, но всё ещё не работает",
    "Не работает",
    // ja
    "ありがとうございます。でも、まだエラーが出ます。",
    "ありがとうございます。動きません。",
    // zh
    "谢谢，但是还是不行",
    "谢谢，又出错了",
    // tr
    "Teşekkürler ama hala çalışmıyor",
    "Teşekkürler, olmadı",
    // fi
    "Kiitos, mutta ei toimi vieläkään",
    // cs
    "Díky, ale pořád to nefunguje",
    "Děkuji, nejde to",
];

#[test]
fn thanks_and_confirmations_are_only_thanks() {
    let wrong: Vec<&str> = ONLY_THANKS
        .iter()
        .copied()
        .filter(|t| !is_only_thanks(t))
        .collect();
    assert!(wrong.is_empty(), "not recognised as thanks: {wrong:#?}");
}

#[test]
fn disputes_questions_and_negations_are_not() {
    let wrong: Vec<&str> = NOT_ONLY_THANKS
        .iter()
        .copied()
        .filter(|t| is_only_thanks(t))
        .collect();
    assert!(wrong.is_empty(), "wrongly taken as thanks: {wrong:#?}");
}

#[test]
fn long_messages_are_not_only_thanks() {
    let many_lines = "Thanks!\nWorks now.\nAll good.\nPerfect.\nGreat.";
    assert!(!is_only_thanks(many_lines));
    let long = format!("Thanks! {}", "great ".repeat(80));
    assert!(!is_only_thanks(&long));
}

#[test]
fn names_are_limited() {
    assert!(is_only_thanks("Hi Terry,\nthanks!\nAnna Roth"));
    assert!(!is_only_thanks("Thanks Terry, Printer Room Four Jammed"));
    assert!(!is_only_thanks("谢谢，打印机还是坏的"));
}

#[test]
fn praise_says_nothing_wrong_and_a_complaint_or_question_does() {
    for fine in [
        "great job!",
        "Quick and friendly, Terry was great.",
        "",
        "Super service 👍",
    ] {
        assert!(says_nothing_wrong(fine), "{fine}");
    }
    for wrong in [
        "great job, but the scanner still jams",
        "why did it take a week?",
        "not what I asked for",
        "slow",
        "great :(",
        "please call me",
    ] {
        assert!(!says_nothing_wrong(wrong), "{wrong}");
    }
}
