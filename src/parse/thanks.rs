//! Replies that only say thanks ("thanks", "thank you, works now", "danke, passt"): added to a
//! resolved case without reopening it. Pure.
//!
//! Each line is normalised (punctuation becomes sentence and comma marks), then known phrases
//! are replaced by marks in four passes: thanks, confirmations ("works now", "problem solved"),
//! greetings/titles/sign-offs, and filler words. Negations and problem words are looked for
//! after the first three passes, so "problem solved" is fine and "not fixed" is not. What is
//! left must be a name after a greeting, thanks or sign-off, or at most one other word. When in
//! doubt the answer is `false`: a wrong reopen costs a click, an ignored dispute a customer.

use regex::{NoExpand, Regex};
use std::sync::LazyLock;

/// Longer texts are never "only thanks", whatever their words.
const MAX_CHARS: usize = 400;
/// Lines with thanks, confirmations or unknown words; greetings and sign-offs don't count.
const MAX_CONTENT_LINES: usize = 3;
/// Words of names after a greeting, title, thanks or sign-off ("Hi Terry", "Gruß, Anna Roth").
const MAX_NAME_WORDS: usize = 4;
/// Words one name may have.
const MAX_NAME_RUN: usize = 2;
/// Unknown words anywhere else; more than this is saying something.
const MAX_FREE_WORDS: usize = 1;
/// Unknown CJK characters (a name such as 田中 or 王老师).
const MAX_CJK_CHARS: usize = 3;
/// Words on a trailing line that holds only a name.
const MAX_NAME_LINE_WORDS: usize = 3;

/// Anything asking something is not thanks.
const QUESTION_MARKS: &[char] = &['?', '？', '¿'];
/// Unhappy faces turn thanks into sarcasm or a dispute.
const SAD_FACES: &[&str] = &[
    ":(", ":-(", ":-/", "☹", "🙁", "😞", "😟", "😢", "😭", "😠", "😡", "👎", "😕", "😩",
];

/// Private-use characters that stand for a matched phrase in a marked line.
const THANKS_MARK: char = '\u{E001}';
const VOCAB_MARK: char = '\u{E002}';
const ADDRESS_MARK: char = '\u{E003}';

/// Thanks in en, de, fr, es, it, nl, pt, sv, da, no, pl, ru, tr, fi, cs, ja and zh, in that
/// order (as in the tables below); `|`-separated regex phrases. A text needs one of these.
/// "Thanks again" is here because "again" alone is a negative word.
const THANKS: &str = "thanks|thank you|thank u|thankyou|thanku|thanx|thnx|thx|tnx|tks|ty|tyvm|\
    tysm|cheers|many thanks|thanks again|thank you again|much obliged|danke|dankeschön|\
    danke schön|danke sehr|vielen dank|herzlichen dank|besten dank|tausend dank|lieben dank|\
    vielen lieben dank|dank|danke nochmals|nochmals danke|nochmals vielen dank|danke nochmal|\
    merci|merci beaucoup|merci bien|merci encore|encore merci|un grand merci|mille mercis|\
    mille merci|merci mille fois|je vous remercie|je te remercie|gracias|muchas gracias|\
    mil gracias|muchísimas gracias|gracias de nuevo|te lo agradezco|se lo agradezco|le agradezco|\
    grazie|grazie mille|grazie ancora|mille grazie|ti ringrazio|vi ringrazio|la ringrazio|bedankt|\
    dank je|dank je wel|dank u|dank u wel|dankjewel|dankuwel|hartelijk dank|hartelijk bedankt|\
    nogmaals bedankt|nogmaals dank|obrigado|obrigada|muito obrigado|muito obrigada|obrigadão|\
    valeu|agradeço|obrigado novamente|obrigada novamente|tack|tack så mycket|tusen tack|\
    stort tack|tack igen|tackar|tak|mange tak|tusind tak|tusinde tak|tak igen|takk|tusen takk|\
    mange takk|takk igjen|takker|dzięki|dzieki|dziękuję|dziekuje|dziękujemy|dzięki wielkie|\
    wielkie dzięki|serdecznie dziękuję|jeszcze raz dziękuję|спасибо|спасибо большое|\
    большое спасибо|огромное спасибо|благодарю|спс|ещё раз спасибо|еще раз спасибо|teşekkürler|\
    tesekkurler|teşekkür ederim|teşekkür ederiz|çok teşekkürler|çok teşekkür ederim|sağ ol|\
    sağ olun|sağol|sağolun|eyvallah|tekrar teşekkürler|kiitos|kiitoksia|kiitti|kiitos paljon|\
    paljon kiitoksia|kiitos vielä|děkuji|děkuju|dekuji|děkujeme|díky|diky|dík|moc děkuji|\
    mockrát děkuji|ještě jednou děkuji|ありがとうございます|ありがとうございました|ありがとう|どうもありがとう|感謝いたします|感謝します|\
    感謝しております|サンキュー|谢谢|謝謝|感谢|感謝|多谢|多謝|谢了|再次感谢|非常感谢|万分感谢";

/// Confirmations that it works, and compliments, including those that hold a word that alone
/// would be negative ("problem solved", "no more errors", "works again").
const CONFIRM: &str = "(?:works?|working|worked|runs?|running)(?: (?:fine|well|perfectly|properly|\
    normally|ok|now))* again|works?|working|worked|runs|running|fixed|solved|resolved|sorted|\
    sorted out|done|all good|all set|all sorted|all fixed|good to go|up and running|\
    back to normal|back online|did the trick|does the trick|that did it|that helped|helped|\
    as always|no problem|no worries|(?:works |worked )?like a charm|can (?:log ?in|login|sign in|\
    print|connect|access it|send|receive)(?: (?:now|again|fine))*|(?:the )?(?:problem|issue|error|\
    bug)(?: is| has been| was| got)?(?: now)? (?:fixed|solved|resolved|gone|sorted)|\
    no (?:more )?(?:problems|issues|errors)(?: anymore| now)?|(?:you )?can close (?:it|this|\
    the ticket|this ticket|the case|the request)|(?:please )?(?:feel free to )?close (?:it|this|\
    the ticket|this ticket|the case)|(?:funktioniert|funktionieren|geht|läuft|laufen|\
    klappt)(?: (?:es|alles|das|jetzt|nun|auch|endlich|bei mir))* wieder|funktioniert|\
    funktionieren|klappt|geklappt|geht|läuft|passt|alles gut|alles klar|alles bestens|\
    alles in ordnung|in ordnung|gelöst|behoben|erledigt|repariert|hat sich erledigt|\
    hat funktioniert|hat geholfen|hat geklappt|geholfen|wie immer|(?:das )?problem (?:ist |\
    wurde )?(?:jetzt )?(?:gelöst|behoben)|keine (?:probleme|fehler) mehr|kein problem mehr|(?:ça|\
    ca|cela|tout) (?:re)?(?:marche|fonctionne)(?: (?:à nouveau|a nouveau|de nouveau|maintenant|\
    bien|parfaitement))*|(?:re)?marche|(?:re)?fonctionne|fonctionne (?:à|a|de) nouveau|c'est bon|\
    c'est réglé|c'est résolu|c'est ok|tout est bon|(?:le )?problème (?:est )?résolu|\
    probleme resolu|réglé|résolu|resolu|nickel|impeccable|comme toujours|funciona(?: (?:bien|\
    perfectamente|correctamente|otra vez|de nuevo|novamente|de novo|bem))*|vuelve a funcionar|\
    volvió a funcionar|ya funciona|funcionó|todo bien|todo correcto|todo ok|\
    (?:el )?problema (?:ya )?(?:está )?(?:resuelto|solucionado|arreglado)|resuelto|solucionado|\
    arreglado|ya está|listo|como siempre|funziona(?: (?:di nuovo|bene|perfettamente|correttamente|\
    tutto))*|ha funzionato|tutto ok|tutto a posto|tutto bene|tutto funziona|\
    (?:il )?problema (?:è )?risolto|risolto|sistemato|va bene|come sempre|werkt(?: (?:het|alles|\
    nu|weer|prima|goed|perfect))*|doet het(?: weer| nu)*|opgelost|\
    (?:het )?probleem (?:is )?opgelost|alles goed|alles werkt|in orde|geregeld|verholpen|\
    funcionou|funcionando|está funcionando|voltou a funcionar|resolvido|(?:o )?problema (?:foi |\
    está )?resolvido|deu certo|tudo certo|tudo bem|tudo ok|já funciona|consertado|\
    (?:det )?(?:fungerar|funkar|virker|fungerer|funker)(?: (?:nu|nå|igen|igjen|bra|fint))*|löst|\
    (?:problemet )?är löst|allt bra|allt fungerar|allt funkar|klart|löste sig|løst|\
    problemet er løst|alt (?:er )?godt|alt (?:er )?bra|alt virker|i orden|działa(?: (?:już|teraz|\
    znowu|ponownie|dobrze|poprawnie|bez zarzutu))*|(?:już|wszystko|teraz|znowu) działa|\
    (?:problem )?(?:został )?rozwiązany|rozwiązane|naprawione|naprawiony|wszystko ok|w porządku|\
    pomogło|udało się|(?:работает|заработало|заработал)(?: (?:снова|опять|теперь|уже|нормально|\
    отлично|хорошо))*|(?:снова|опять|теперь|уже|всё|все) работает|(?:проблема )?решена|решено|\
    (?:всё|все) в порядке|(?:всё|все) хорошо|помогло|исправлено|починили|(?:şimdi |\
    artık )?çalışıyor|çalıştı|düzeldi|(?:sorun |problem )?çözüldü|halloldu|oldu|tamam|tamamdır|\
    her şey yolunda|sorun kalmadı|sorun yok|toimii(?: (?:taas|jälleen|nyt|hyvin))*|nyt toimii|\
    (?:ongelma )?ratkesi|ongelma ratkaistu|korjaantui|korjattu|kaikki kunnossa|kaikki hyvin|\
    kaikki toimii|onnistui|selvä|funguje(?: (?:to|už|zase|znovu|opět|dobře|správně))*|(?:už|zase|\
    znovu|opět|vše|všechno|teď) funguje|vyřešeno|(?:problém )?(?:je )?vyřešen[ýo]?|vše v pořádku|\
    v pořádku|pomohlo|opraveno|v pohodě|直りました|治りました|直った|解決しました|解決いたしました|解決|動きました|動くようになりました|動いた|\
    使えるようになりました|使えました|使えます|できました|出来ました|大丈夫です|大丈夫でした|問題なく|問題ない|問題ありません|問題なし|うまくいきました|助かりました|復旧しました|\
    改善しました|解决了|已解决|已經解決|问题解决了|問題解決了|解決了|好了|可以了|没问题了|沒問題了|没问题|沒問題|修好了|正常了|能用了|可以用了|搞定了|搞定|成功了|行了|\
    没事了";

/// Greetings, titles and sign-offs: the frame of a message, after which a name may stand.
const ADDRESS: &str = "hi|hello|hey|hiya|dear|good (?:morning|afternoon|evening|day)|greetings|mr|\
    mrs|ms|miss|dr|prof|sir|madam|team|support(?: team)?|helpdesk(?: team)?|service desk|\
    it (?:team|support)|(?:best|kind|warm|warmest|many) regards|regards|best wishes|all the best|\
    best|br|kr|sincerely|yours(?: sincerely| truly)?|take care|bye|cya|see you|talk soon|\
    have a (?:nice|good|great|lovely) (?:day|weekend|week|evening)|hallo|moin|servus|grüß gott|\
    guten (?:morgen|tag|abend)|liebe|lieber|liebes|sehr geehrte[r]?|damen und herren|herr|frau|hr|\
    fr|mit freundlichen grü(?:ß|ss)en|freundliche grü(?:ß|ss)e|(?:viele|liebe|beste|schöne|\
    herzliche) grü(?:ß|ss)e|gru(?:ß|ss)|grü(?:ß|ss)e|lg|vg|mfg|bg|bis dann|tschüss|ciao|\
    (?:einen )?schönen (?:tag|abend)|(?:ein )?schönes wochenende|bonjour|bonsoir|salut|coucou|\
    cher|chère|chers|madame|monsieur|mme|mlle|messieurs|(?:bien )?cordialement|bien à vous|\
    (?:sincères |meilleures )?salutations|amicalement|bonne (?:journée|soirée|fin de journée|\
    semaine)|bon week end|à bientôt|bises|hola|buenos días|buenas tardes|buenas noches|buenas|\
    estimad[oa]s?|querid[oa]|señor|señora|sr|sra|(?:un )?saludos?(?: cordiales)?|atentamente|\
    cordialmente|(?:un )?abrazos?|buen día|salve|buongiorno|buonasera|gentil[ei]|caro|cara|signor|\
    signora|sig|dott|(?:cordiali|distinti) saluti|saluti|un saluto|a presto|buona (?:giornata|\
    serata)|hoi|beste|goedemorgen|goedemiddag|goedenavond|dag|geachte|meneer|mevrouw|dhr|mevr|\
    (?:met )?vriendelijke groet(?:en)?|groet(?:en|jes)?|mvg|fijne dag|fijn weekend|olá|ola|oi|\
    bom dia|boa tarde|boa noite|prezad[oa]s?|senhora?|atenciosamente|cumprimentos|\
    (?:um )?abraços?|abs|att|hej|hejsan|hallå|god (?:morgon|morgen|dag)|\
    (?:med )?vänliga hälsningar|hälsningar|mvh|vh|trevlig helg|kære|(?:med )?venlig hilsen|\
    venlige hilsner|hilsen|god (?:weekend|helg)|hei|kjære|(?:med )?vennlig hilsen|cześć|witam|\
    witajcie|dzień dobry|szanown[yai]|pan|pani|panie|(?:serdecznie )?pozdrawiam(?: serdecznie)?|\
    z poważaniem|pozdrowienia|miłego dnia|здравствуйте|привет|добрый (?:день|вечер)|доброе утро|\
    уважаем(?:ый|ая)|с уважением|всего (?:доброго|хорошего)|хорошего дня|merhaba|selam|selamlar|\
    iyi günler|günaydın|sayın|bey|hanım|saygılarımla|iyi çalışmalar|kolay gelsin|sevgiler|moi|\
    terve|hyvää päivää|huomenta|(?:ystävällisin )?terveisin|t|hyvää (?:päivänjatkoa|viikonloppua)|\
    dobrý den|ahoj|zdravím|vážen[ýáí]|pane|paní|s pozdravem|zdraví|(?:hezký|pěkný) den|こんにちは|\
    お世話になっております|お世話になります|お疲れ様です|よろしくお願いいたします|よろしくお願いします|宜しくお願いします|今後ともよろしくお願いいたします|以上|さん|様|さま|你好|\
    您好|大家好|祝好|此致|敬礼|先生|女士";

/// Negations, disputes, requests and problem words. Searched after the thanks, confirmation and
/// address passes, so only words outside those phrases count.
const NEGATIVE: &str = "not|no|nope|nah|never|nothing|none|neither|nor|cannot|unable|\\w+n't|dont|\
    doesnt|didnt|cant|wont|isnt|wasnt|arent|havent|hasnt|couldnt|wouldnt|\\w+'ll|but|however|\
    although|though|except|unless|still|yet|again|anymore|another|other|more|also|same|new|only|\
    partly|partially|sometimes|occasionally|intermittently|error|errors|problem|problems|issue|\
    issues|bug|bugs|broken|jammed|stuck|down|offline|missing|lost|gone|slow|frozen|freezes|crash|\
    crashes|crashed|crashing|fail|fails|failed|failing|failure|wrong|weird|strange|reopen|open|\
    unresolved|urgent|asap|please|pls|plz|need|needs|want|would|could|can|will|try|trying|tried|\
    test|testing|check|let|later|tomorrow|hope|hopefully|think|guess|seems|maybe|perhaps|\
    unfortunately|sadly|actually|wait|hmm|hm|ps|question|questions|thing|btw|by the way|why|how|\
    when|where|which|if|for now|while|in advance|yesterday|before|earlier|gestern|vorher|hier|\
    ayer|ieri|gisteren|ontem|igår|i går|wczoraj|вчера|dün|eilen|včera|昨日|昨天|nicht|nichts|nix|kein|\
    keine|keinen|keinem|keiner|keines|nie|niemals|nein|noch|aber|jedoch|doch|leider|trotzdem|\
    weiterhin|wieder|erneut|fehler|fehlermeldung|probleme|kaputt|defekt|absturz|stürzt|abgestürzt|\
    hängt|langsam|frage|fragen|bitte|auch|außerdem|ausserdem|sondern|nur|allerdings|manchmal|\
    teilweise|ob|wenn|falls|warum|wieso|weshalb|wann|könnten|können|könnt|würde|würden|muss|\
    müssen|brauche|eigentlich|vielleicht|hoffe|hoffentlich|glaube|scheint|später|morgen|im voraus|\
    vorab|ne|n'\\w*|pas|plus|rien|jamais|aucun|aucune|non|mais|cependant|toutefois|pourtant|\
    toujours|encore|erreur|problème|souci|soucis|bogue|panne|bloqué|plante|aussi|également|\
    seulement|sauf|parfois|malheureusement|svp|stp|s'il|pourriez|pouvez|voudrais|besoin|pourquoi|\
    comment|quand|d'avance|par avance|nada|nunca|ningún|ninguna|ninguno|tampoco|pero|sin embargo|\
    aunque|todavía|aún|aun|sigue|siguen|otra vez|de nuevo|nuevamente|otro|otra|errores|problema|\
    problemas|fallo|falla|roto|pregunta|también|además|solo|sólo|por favor|podrías|podría|pueden|\
    puedes|necesito|cuándo|lamentablemente|a veces|de antemano|niente|nulla|nessun|nessuno|\
    nessuna|mai|ma|però|tuttavia|ancora|di nuovo|errore|errori|problemi|guasto|bloccato|domanda|\
    anche|inoltre|soltanto|purtroppo|per favore|potreste|potete|vorrei|bisogno|perché|invece|\
    in anticipo|niet|niets|geen|nooit|nee|maar|echter|toch|nog|weer|opnieuw|alweer|fout|fouten|\
    foutmelding|probleem|problemen|storing|kapot|vraag|vragen|ook|alleen|soms|helaas|alsjeblieft|\
    alstublieft|aub|graag|kunnen|kunt|zou|zouden|waarom|wanneer|alvast|não|nao|nenhum|nenhuma|mas|\
    porém|contudo|ainda|continua|continuam|de novo|novamente|erro|erros|falha|defeito|dúvida|\
    somente|apenas|infelizmente|poderia|podem|preciso|desde já|inte|ej|inget|ingen|inga|aldrig|\
    nej|men|dock|fortfarande|fortsatt|igen|fel|felet|problemet|trasig|fråga|frågor|också|även|\
    ibland|tyvärr|snälla|behöver|varför|på förhand|ikke|intet|dog|stadig|fejl|fejlen|spørgsmål|\
    også|kun|desværre|venligst|hvorfor|hvornår|på forhånd|aldri|nei|likevel|fremdeles|igjen|feil|\
    feilen|ødelagt|spørsmål|bare|dessverre|vennligst|nie|nic|żaden|żadna|żadne|nigdy|ale|jednak|\
    nadal|wciąż|ciągle|dalej|znowu|znów|ponownie|błąd|błędy|błędu|problemy|problemu|pytanie|\
    pytania|też|także|również|tylko|czasem|czasami|niestety|proszę|prosze|czy|dlaczego|kiedy|\
    z góry|не|нет|ни|ничего|никогда|но|однако|ещё|еще|опять|снова|ошибка|ошибку|ошибки|ошибкой|\
    проблема|проблемы|проблему|вопрос|вопросы|также|тоже|только|иногда|к сожалению|пожалуйста|\
    сломался|сломалось|сломано|глючит|зависает|почему|когда|можете|нужно|нельзя|невозможно|ли|\
    заранее|değil|yok|hiç|hiçbir|ama|fakat|ancak|lakin|hala|hâlâ|yine|tekrar|gene|yeniden|hata|\
    hatası|sorun|sorunu|soru|lütfen|maalesef|neden|niye|mi|mı|mu|mü|sadece|bazen|olmaz|şimdiden|\
    \\w+m[ıiuü]yor(?:um|sun|uz|lar|du)?|\\w+m[ae]d[ıi](?:m|n|k|nız|niz|lar|ler)?|ei|eikä|eivät|\
    emme|en (?:saa|pysty|voi|pääse|löydä|tiedä)|mutta|kuitenkaan|kuitenkin|vieläkään|vielä|yhä|\
    edelleen|taas|uudelleen|jälleen|virhe|virheen|virheitä|virheilmoitus|ongelma|ongelmia|kysymys|\
    myös|vain|joskus|valitettavasti|voisitteko|voisitko|tarvitsen|miksi|milloin|etukäteen|žádný|\
    žádná|žádné|nikdy|však|ovšem|pořád|stále|ještě|zase|znovu|opět|chyba|chybu|chyby|problém|\
    problémy|otázka|otázku|také|taky|jen|pouze|někdy|bohužel|prosím|můžete|potřebuji|proč|kdy|\
    předem|ne(?:funguj|jde|jede|pomohl|šl|ní|vím|mohu|můžu|lze|ukáž|otevř|spust)\\w*|ない|ません|なかった|\
    でも|しかし|けど|けれど|まだ|また|再び|エラー|問題|不具合|故障|失敗|質問|ください|下さい|お願い|ですか|ますか|でしょうか|不|没|沒|未|无法|無法|但|可是|不过|\
    不過|还是|還是|仍|依然|又|再|错误|錯誤|报错|報錯|问题|坏|壞|失败|请|請|麻烦|麻煩|吗|嗎|呢|为什么|為什麼|怎么|怎麼";

/// Words that carry no news: pronouns, articles, intensifiers, praise, "for the quick help".
const FILLER: &str = "ok|okay|okey|oki|okej|okei|oké|k|kk|yes|yep|yeah|yay|wow|great|awesome|\
    perfect|excellent|brilliant|amazing|wonderful|fantastic|super|cool|nice|lovely|good|fine|\
    splendid|sweet|top|legend|star|you rock|lifesaver|life saver|appreciated|appreciate|i|i'm|we|\
    me|my|our|us|you|your|you're|ya|u|guys|all|everyone|folks|mate|buddy|man|dude|so|very|really|\
    much|lot|loads|heaps|ton|bunch|million|the|a|an|and|for|it|it's|its|that|that's|this|is|was|\
    has|been|everything|everything's|now|just|finally|indeed|totally|definitely|too|on my end|\
    on my side|quick|fast|prompt|swift|speedy|kind|help|support|assistance|response|reply|answer|\
    fix|solution|info|information|effort|time|patience|haha|hehe|xd|lol|to|of|with|as|es|das|der|\
    die|den|dem|jetzt|nun|alles|ist|sehr|vielmals|vielen|herzlich|schöne|mal|echt|wirklich|ganz|\
    für|schnelle|schnell|rasche|hilfe|unterstützung|ja|toll|klasse|prima|perfekt|spitze|genial|\
    einwandfrei|bestens|gut|wunderbar|und|bei|mir|uns|dir|euch|ihnen|sie|ihr|ihre|eure|deine|\
    endlich|nochmal|nochmals|ça|ca|c'est|cela|tout|maintenant|bien|très|tres|vraiment|beaucoup|\
    oui|parfait|parfaitement|génial|pour|votre|vos|ton|ta|l'aide|aide|la|le|les|de|du|des|rapide|\
    rapidement|réponse|intervention|vous|toi|à|et|chez|moi|nous|enfin|ya|todo|ahora|muy|muchas|\
    mucho|sí|perfecto|perfectamente|excelente|estupendo|por|el|los|las|tu|su|sus|ayuda|rápida|\
    rápido|respuesta|del|y|mi|nos|te|lo|vale|por fin|ora|adesso|tutto|molto|tanto|tantissimo|sì|\
    perfetto|ottimo|benissimo|bene|per|l'aiuto|aiuto|il|gli|tuo|tua|vostro|vostra|supporto|rapido|\
    risposta|e|di|della|ci|finalmente|gentilissim[oi]|het|nu|heel|erg|wel|mooi|fijn|voor|een|hulp|\
    jullie|je|jou|snelle|snel|en|bij|mij|ons|eindelijk|goed|já|tudo|agora|muito|muitíssimo|sim|\
    perfeito|ótimo|otimo|pela|pelo|ajuda|o|os|as|sua|seu|resposta|do|da|bem|show|beleza|det|allt|\
    så|mycket|för|hjälpen|snabb|snabba|snabbt|er|dig|bra|toppen|och|jättebra|fint|äntligen|alt|\
    meget|mange|hjælpen|jer|godt|og|endelig|nå|mye|hjelpen|dere|deg|supert|już|juz|teraz|wszystko|\
    bardzo|wielkie|za|pomoc|szybką|odpowiedź|świetnie|doskonale|dobrze|i|wam|ci|mnie|w|wreszcie|\
    всё|все|теперь|уже|очень|большое|огромное|за|помощь|быструю|ответ|да|вам|тебе|отлично|супер|и|\
    у|меня|наконец|хорошо|ок|çok|şimdi|artık|her şey|yardımınız|yardım|için|evet|size|sana|\
    ilginiz|hızlı|destek|desteğiniz|ve|harika|süper|mükemmel|güzel|nyt|kaikki|paljon|avusta|\
    avustasi|avustanne|kyllä|sinulle|teille|nopeasta|vastauksesta|jo|ja|hyvä|hienoa|mahtavaa|\
    loistavaa|vihdoin|už|teď|nyní|vše|všechno|moc|mockrát|velmi|rychlou|ano|vám|ti|skvělé|výborně|\
    paráda|konečně|to|你|您|的|了|非常|很|太|帮助|帮忙|大家|啦|哈|呀|啊|本当に|どうも|いつも|ご対応|対応|いただき|頂き|ご丁寧に|迅速な|早速|です|\
    ました|ね|よ";

static THANKS_RE: LazyLock<Regex> = LazyLock::new(|| alternation(THANKS));
static CONFIRM_RE: LazyLock<Regex> = LazyLock::new(|| alternation(CONFIRM));
static ADDRESS_RE: LazyLock<Regex> = LazyLock::new(|| alternation(ADDRESS));
static NEGATIVE_RE: LazyLock<Regex> = LazyLock::new(|| alternation(NEGATIVE));
static FILLER_RE: LazyLock<Regex> = LazyLock::new(|| alternation(FILLER));
/// "Dr. Meier" keeps its name next to its title once the dot is gone.
static TITLE_DOT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(mr|mrs|ms|dr|prof|sr|sra|sig|dott|mme|dhr|mevr|hr|fr)\.")
        .expect("title pattern is valid")
});

/// Whether `text` (a reply with its quote and signature already removed) says nothing but thanks,
/// perhaps with a confirmation that it works now and a greeting.
pub fn is_only_thanks(text: &str) -> bool {
    if text.chars().count() > MAX_CHARS
        || text.contains(QUESTION_MARKS)
        || SAD_FACES.iter().any(|face| text.contains(face))
    {
        return false;
    }
    let mut lines: Vec<String> = text
        .lines()
        .map(normalize)
        .filter(|line| line.chars().any(char::is_alphanumeric))
        .collect();
    drop_name_line(&mut lines);
    let mut tally = Tally::default();
    for line in &lines {
        match classify(line) {
            Some(tokens) => tally.add_line(&tokens),
            None => return false,
        }
    }
    tally.is_only_thanks()
}

/// Whether a short text says nothing wrong: no question, no unhappy face, and no negation,
/// complaint or request on any line ("great job!", "quick and friendly"). With a good rating it
/// is praise, not a dispute; anything else ("but the scanner still jams") is not.
pub fn says_nothing_wrong(text: &str) -> bool {
    text.chars().count() <= MAX_CHARS
        && !text.contains(QUESTION_MARKS)
        && !SAD_FACES.iter().any(|face| text.contains(face))
        && text
            .lines()
            .map(normalize)
            .all(|line| classify(&line).is_some())
}

/// What one piece of a line turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Thanks,
    Vocab,
    Address,
    Break,
    Comma,
    Word(String),
}

/// What may follow: a name right after thanks or a greeting, a capitalised one after a comma.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    None,
    Soft,
    Direct,
}

/// Counts over all lines of a text.
#[derive(Debug, Default)]
struct Tally {
    thanks: bool,
    content_lines: usize,
    names: usize,
    free: usize,
    cjk: usize,
}

impl Tally {
    fn add_line(&mut self, tokens: &[Token]) {
        let (mut content, mut anchor, mut run) = (false, Anchor::None, 0);
        for token in tokens {
            match token {
                Token::Thanks => {
                    (self.thanks, content) = (true, true);
                    (anchor, run) = (Anchor::Direct, 0);
                }
                Token::Address => (anchor, run) = (Anchor::Direct, 0),
                Token::Vocab => (content, anchor, run) = (true, Anchor::Soft, 0),
                Token::Break => (anchor, run) = (Anchor::None, 0),
                Token::Comma if anchor == Anchor::Direct => anchor = Anchor::Soft,
                Token::Comma => {}
                Token::Word(word) if word.chars().any(is_cjk) => {
                    self.cjk += word.chars().count();
                    (content, anchor) = (true, Anchor::None);
                }
                Token::Word(word) => {
                    let name_like = run < MAX_NAME_RUN
                        && word.chars().all(|c| c.is_alphabetic() || c == '\'')
                        && match anchor {
                            Anchor::Direct => true,
                            Anchor::Soft => is_capitalized(word),
                            Anchor::None => false,
                        };
                    if name_like {
                        (self.names, run) = (self.names + 1, run + 1);
                    } else {
                        (self.free, content, anchor, run) = (self.free + 1, true, Anchor::None, 0);
                    }
                }
            }
        }
        self.content_lines += usize::from(content);
    }

    fn is_only_thanks(&self) -> bool {
        self.thanks
            && self.content_lines <= MAX_CONTENT_LINES
            && self.names <= MAX_NAME_WORDS
            && self.free <= MAX_FREE_WORDS
            && self.cjk <= MAX_CJK_CHARS
    }
}

/// Drops a last line that holds only a name ("Anna", "Anna Roth", "田中"), not the only line.
fn drop_name_line(lines: &mut Vec<String>) {
    let [_, .., last] = lines.as_slice() else {
        return;
    };
    let is_name = classify(last).is_some_and(|tokens| {
        (1..=MAX_NAME_LINE_WORDS).contains(&tokens.len())
            && tokens.iter().all(|token| match token {
                Token::Word(word) if word.chars().any(is_cjk) => word.chars().count() <= 4,
                Token::Word(word) => is_capitalized(word),
                _ => false,
            })
    });
    if is_name {
        lines.pop();
    }
}

/// Marks the known phrases of one normalised line, or `None` if it says something negative.
fn classify(line: &str) -> Option<Vec<Token>> {
    let marked = mark(&THANKS_RE, line, THANKS_MARK);
    let marked = mark(&CONFIRM_RE, &marked, VOCAB_MARK);
    let marked = mark(&ADDRESS_RE, &marked, ADDRESS_MARK);
    if NEGATIVE_RE.is_match(&marked) {
        return None;
    }
    let marked = mark(&FILLER_RE, &marked, VOCAB_MARK);
    let tokens = marked.split_whitespace().map(|piece| match piece {
        "." => Token::Break,
        "," => Token::Comma,
        _ if piece.starts_with(THANKS_MARK) => Token::Thanks,
        _ if piece.starts_with(VOCAB_MARK) => Token::Vocab,
        _ if piece.starts_with(ADDRESS_MARK) => Token::Address,
        word => Token::Word(word.to_owned()),
    });
    Some(tokens.collect())
}

/// Replaces every match of `re` by `marker`, with a space on each side.
fn mark(re: &Regex, line: &str, marker: char) -> String {
    re.replace_all(line, NoExpand(&format!(" {marker} ")))
        .into_owned()
}

/// One line with curly apostrophes made straight, sentence ends as " . ", commas as " , ",
/// other symbols and emoji dropped. Tokens are joined by two spaces, so that two adjacent
/// phrases can each consume one of them in [`alternation`]'s patterns.
fn normalize(line: &str) -> String {
    let line = TITLE_DOT_RE.replace_all(line, "$1");
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '\'' | '’' | '‘' | '`' | '´' => out.push('\''),
            '.' | '!' | ';' | ':' | '。' | '！' | '…' | '¡' => out.push_str(" . "),
            ',' | '，' | '、' => out.push_str(" , "),
            c if c.is_alphanumeric() => out.push(c),
            _ => out.push(' '),
        }
    }
    out.split_whitespace()
        .map(|token| token.trim_matches('\''))
        .filter(|token| !token.is_empty())
        .collect::<Vec<_>>()
        .join("  ")
}

/// One case-insensitive regex for `phrases`: whole words for alphabetic scripts, plain
/// substrings for Chinese and Japanese, which have no spaces. Longer phrases come first, so
/// "thanks again" wins over "thanks". Words are delimited by the spaces [`normalize`] puts
/// between tokens, not by `\b`, which would split "doesn't" at its apostrophe.
fn alternation(phrases: &str) -> Regex {
    let (mut cjk, mut words): (Vec<&str>, Vec<&str>) =
        top_level_alternatives(phrases).partition(|phrase| phrase.chars().any(is_cjk));
    for list in [&mut cjk, &mut words] {
        list.sort_by_key(|phrase| std::cmp::Reverse(phrase.len()));
    }
    let words: Vec<String> = words
        .iter()
        .map(|phrase| phrase.replace(' ', r"\s+"))
        .collect();
    let mut pattern = format!(r"(?i)(?:^|\s)(?:{})(?:\s|$)", words.join("|"));
    if !cjk.is_empty() {
        pattern = format!("{pattern}|(?:{})", cjk.join("|"));
    }
    Regex::new(&pattern).expect("thanks vocabulary is a valid regex")
}

/// The `|`-separated phrases of `phrases`, leaving the `|` inside groups alone.
fn top_level_alternatives(phrases: &str) -> impl Iterator<Item = &str> {
    let mut depth = 0_i32;
    phrases.split(move |c| {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        c == '|' && depth == 0
    })
}

/// Hiragana, katakana and CJK ideographs.
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}' | '\u{FF66}'..='\u{FF9F}')
}

fn is_capitalized(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_uppercase)
}

#[cfg(test)]
mod tests;
