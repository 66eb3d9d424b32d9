"""The screen's shapes in Portuguese, Italian and Dutch, and in scripts other than Latin:
Chinese, Russian and Japanese (see ``languages`` for how they are written and folded)."""

# Pattern tables in other languages: long alternatives, and punctuation such as "，" that
# looks like ASCII on purpose.
# ruff: noqa: E501, RUF001, RUF003

from agentrun.logic.injection.actions import ADDRESS
from agentrun.logic.injection.languages import override, send
from agentrun.logic.injection.rules import Spec

_RU_NOUNS = r"(?:инструкции|инструкциям|указания|указаниям|правила|правилам|команды|ограничения|промпт|установки|директивы)"
_ZH_DATA = r"(?:(?:所有|全部)?(?:客户|用户|顾客|会员)的?(?:邮箱|电子邮件|数据|信息|资料|地址|密码|记录|电话)|(?:对话|聊天)的?(?:全部)?(?:记录|内容)|密码|密钥|令牌|凭证)"

# fmt: off
LATIN: tuple[Spec, ...] = (
    # ------------------------------------------------------------------------- Portuguese
    (
        "override",
        override(
            r"(?:ignore|ignora|ignorar|esqueça|esquece|esquecer|desconsidere|desconsidera|desconsiderar|despreze)",
            r"(?:as|os|a|o|das|dos|de)",
            r"(?:todas|todos|suas|tuas|anteriores|prévias)",
            r"(?:instruções|regras|diretrizes|ordens|orientações|restrições|prompts?)",
            r"(?:anteriores|prévias|originais|iniciais|do\s+sistema)",
        ),
        ("instruc", "regras", "diretriz", "ordens", "orientac", "restric", "prompt"),
    ),
    (
        "role",
        (
            r"\b(?:agora\s+você\s+é|você\s+agora\s+é|a\s+partir\s+de\s+agora,?\s+você\s+é|finja\s+(?:ser|que\s+(?:é|você\s+é))|"
            r"aja\s+como|atue\s+como)\s+(?:um\s+|uma\s+|o\s+|a\s+)?(?:[\w-]+\s+){0,2}?(?:ia|assistente|modelo|bot|chatbot|"
            r"administrador|inteligência\s+artificial|hacker)\b"
        ),
        ("voce", "finja", "aja", "atue"),
    ),
    (
        "system_prompt",
        (
            r"\bprompt\s+(?:de|do)\s+sistema|\b(?:mostre|mostra|revele|revela|repita|imprima)(?:-me)?\s+(?:[\w-]+\s+){0,2}?"
            r"(?:seu|sua|suas|seus|teu|tua)\s+(?:[\w-]+\s+)?(?:prompt|instruções|regras|diretrizes)"
        ),
        ("sistema", "mostr", "revel", "repit", "imprim"),
    ),
    (
        "exfiltration",
        send(
            r"(?:envie|envia|enviar|encaminhe|mande|compartilhe)",
            r"(?:meus|minhas|meu|minha|nossos)",
            r"(?:dados|registros|informações|e-?mails|senhas|conversa|histórico|credenciais)",
            r"(?:para|a|ao)",
        ),
        ("envi", "encaminh", "mande", "compartilh"),
    ),
    # ------------------------------------------------------------------------- Italian
    (
        "override",
        override(
            r"(?:ignora|ignori|ignorate|ignorare|dimentica|dimentichi|dimenticate|trascura|tralascia|non\s+seguire\s+più)",
            r"(?:le|gli|i|la|il|delle|degli|di)",
            r"(?:tutte|tutti|tue|sue|vostre|precedenti|iniziali|originali)",
            r"(?:istruzioni|regole|direttive|indicazioni|prompt|restrizioni|limitazioni|linee\s+guida)",
            r"(?:precedenti|di\s+sistema|del\s+sistema|iniziali|originali|sopra)",
        ),
        ("istruzion", "regole", "direttiv", "indicazion", "prompt", "restrizion", "limitazion", "linee"),
    ),
    (
        "role",
        (
            r"\b(?:ora\s+sei|adesso\s+sei|da\s+ora\s+(?:in\s+poi\s+)?sei|fingi\s+di\s+essere|comportati\s+come|agisci\s+come|"
            r"immagina\s+di\s+essere)\s*(?:un\s+|una\s+|un'|il\s+|la\s+|l')?(?:[\w-]+\s+){0,2}?(?:ia|intelligenza\s+"
            r"artificiale|assistente|modello|bot|chatbot|amministratore|hacker)\b"
        ),
        ("sei", "fingi", "comportati", "agisci", "immagina"),
    ),
    (
        "system_prompt",
        (
            r"\bprompt\s+di\s+sistema|\b(?:mostrami|mostra|rivela|ripeti|stampa|dimmi)\s+(?:[\w-]+\s+){0,2}?(?:le\s+tue|il\s+tuo|"
            r"i\s+tuoi|la\s+tua)\s+(?:[\w-]+\s+)?(?:prompt|istruzioni|regole|direttive)"
        ),
        ("sistema", "mostr", "rivela", "ripeti", "stampa", "dimmi"),
    ),
    (
        "exfiltration",
        send(
            r"(?:invia|inviare|manda|inoltra|condividi|carica)",
            r"(?:miei|mie|mio|mia|nostri)",
            r"(?:dati|registri|informazioni|email|password|conversazione|cronologia|credenziali)",
            r"(?:a|al|ad|verso|su)",
        ),
        ("invia", "manda", "inoltra", "condividi", "carica"),
    ),
    # ------------------------------------------------------------------------- Dutch
    (
        "override",
        override(
            r"(?:negeer|vergeet|omzeil|veronachtzaam|volg\s+niet\s+langer)",
            r"(?:de|het|al)",
            r"(?:alle|je|jouw|uw|vorige|eerdere|voorgaande|bovenstaande|oorspronkelijke|systeem)",
            r"(?:instructies|regels|aanwijzingen|opdrachten|richtlijnen|prompts?|beperkingen)",
            r"(?:hierboven|van\s+het\s+systeem)",
        ),
        ("instructie", "regels", "aanwijzing", "opdracht", "richtlijn", "prompt", "beperking"),
    ),
    (
        "role",
        (
            r"\b(?:je\s+bent\s+nu|jij\s+bent\s+nu|vanaf\s+nu\s+ben\s+je|doe\s+alsof\s+je|gedraag\s+je\s+als|speel\s+de\s+rol\s+van)"
            r"\s+(?:een\s+|de\s+|het\s+)?(?:[\w-]+\s+){0,2}?(?:ai|assistent|model|bot|chatbot|beheerder|administrator|hacker)\b"
        ),
        ("bent", "ben je", "alsof", "gedraag", "speel"),
    ),
    (
        "system_prompt",
        (
            r"\bsysteem\s*prompt|\b(?:laat|toon|geef|herhaal|onthul)\s+(?:me\s+|mij\s+)?(?:je|jouw|uw)\s+(?:[\w-]+\s+)?"
            r"(?:prompt|instructies|regels)\b(?!\s+(?:voor|over|bij)\b)"
        ),
        ("systeem", "laat", "toon", "geef", "herhaal", "onthul"),
    ),
    (
        "exfiltration",
        send(
            r"(?:stuur|verstuur|stuurt|deel|upload)",
            r"(?:mijn|onze)",
            r"(?:gegevens|klantgegevens|data|wachtwoorden|gesprek|geschiedenis|e-mailadressen)",
            r"(?:naar|aan)",
        ),
        ("stuur", "deel", "upload"),
    ),
)
# fmt: on

# Scripts other than Latin: run only on text that is not ASCII.
# fmt: off
OTHER: tuple[Spec, ...] = (
    # ------------------------------------------------------------------------- Chinese
    (
        "override",
        (
            r"(?:忽略|忽视|无视|忘记|忘掉|(?:不要|别|不必|无需|不用|不再|停止)再?(?:理会|遵守|遵循|听从|执行|管)|跳过|抛开|放弃)"
            r"[^。！？我]{0,12}?(?:之前|以上|上面|上述|先前|前面|此前|原来|原有|原始|所有|全部|一切|你的|系统|早先|最初)"
            r"[^。！？]{0,8}?(?:指令|指示|规则|提示词|提示|命令|设定|限制|约束|要求)"
        ),
        ("忽", "无视", "忘", "理会", "遵", "听从", "执行", "管", "跳过", "抛开", "放弃"),
    ),
    (
        "override",
        (
            r"(?:之前|以上|上述|所有|先前)的?(?:所有)?(?:指令|指示|规则|提示)[^。！？\n]{0,6}?(?:都|全部|一律)?(?:作废|无效|失效|"
            r"不再有效|取消|不再适用)"
        ),
        ("作废", "无效", "失效", "取消", "适用"),
    ),
    (
        "role",
        (
            r"(?:你现在是|你现在就是|现在你是|从现在(?:起|开始)[，,]?\s*你(?:是|就是|扮演|将扮演|要扮演)|你(?:要|将|需要|必须)?扮演|"
            r"假装你是|假设你是|想象你是|你的新(?:身份|角色)是)[^。！？\n]{0,20}?(?:人工智能|ai|助手|机器人|模型|管理员|经理|黑客|"
            r"开发者|没有(?:任何)?限制|不受(?:任何)?限制|无限制)"
        ),
        ("你",),
    ),
    (
        "system_prompt",
        (
            r"系统提示词|你的系统提示|(?:输出|显示|告诉我|透露|泄露|打印|重复|展示|给我看|列出|复述)[^。！？\n]{0,6}?(?:你的|你|最初|原始|初始|"
            r"系统|隐藏|秘密)[^。！？\n]{0,6}?(?:指令|提示词|提示|设定|规则|指示)"
        ),
        ("提示", "指令", "设定", "规则", "指示"),
    ),
    (
        "exfiltration",
        (
            rf"{_ZH_DATA}[^。！？\n]{{0,12}}?(?:发送|发给|发到|转发|上传|传送|传给|寄到)[^。！？\n]{{0,4}}?{ADDRESS}"
            rf"|(?:发送|转发|上传|传送)[^。！？\n]{{0,10}}?{_ZH_DATA}[^。！？\n]{{0,10}}?(?:到|给|至)\s*{ADDRESS}"
        ),
        ("@", "://"),
    ),
    (
        "hidden",
        r"(?:不要|别|切勿|不得|千万不要)(?:告诉|透露给|让|通知|提醒)[^。！？\n]{0,4}?(?:用户|使用者)",
        ("用户", "使用者"),
    ),
    # ------------------------------------------------------------------------- Russian
    (
        "override",
        (
            r"\b(?:игнорируй|игнорируйте|проигнорируй|проигнорируйте|забудь|забудьте|не\s+обращай\s+внимания\s+на|не\s+"
            r"обращайте\s+внимания\s+на|отбрось|отбросьте|пропусти|не\s+следуй|не\s+выполняй|отмени)\s+(?:[\w-]+\s+){0,2}?"
            r"(?:все|всё|предыдущие|прежние|свои|твои|ваши|системные|вышеуказанные|вышеизложенные|изначальные|старые|"
            rf"предыдущих|всех)\s+(?:[\w-]+\s+){{0,1}}?{_RU_NOUNS}"
        ),
        ("инструкц", "указани", "правил", "команд", "ограничени", "промпт", "установк", "директив"),
    ),
    (
        "override",
        (
            r"\b(?:забудь|забудьте|игнорируй|игнорируйте)\s+(?:вс[её]|всё\s+то),?\s+что\s+(?:тебе|вам)\s+(?:[\w-]+\s+)?"
            r"(?:говорили|сказали|велели|приказали|писали)"
        ),
        ("что",),
    ),
    (
        "role",
        (
            r"\b(?:теперь\s+ты|ты\s+теперь|отныне\s+ты|с\s+этого\s+момента\s+ты|притворись|представь,?\s+что\s+ты|веди\s+себя\s+"
            r"как|действуй\s+как|сыграй\s+роль)\s+(?:[\w-]+\s+){0,3}?(?:ии|ai|ассистент|ассистентом|модель|бот|ботом|"
            r"администратор|администратором|искусственный\s+интеллект|хакер|хакером)\b"
        ),
        ("ты", "притворись", "веди", "действуй", "сыграй"),
    ),
    (
        "system_prompt",
        (
            r"\bсистемн\w+\s+(?:промпт|подсказк\w*|инструкци\w*)|\b(?:покажи|покажите|выведи|выведите|раскрой|повтори|напиши)"
            r"\s+(?:мне\s+)?(?:[\w-]+\s+)?(?:свои|твои|ваши|свой|твой|ваш|свою|исходн\w+|скрыт\w+|секретн\w+)\s+(?:[\w-]+\s+)?"
            r"(?:промпт|инструкции|правила|указания)"
        ),
        ("промпт", "подсказк", "инструкци", "правила", "указания"),
    ),
    (
        "exfiltration",
        send(
            r"(?:отправь|отправьте|перешли|перешлите|передай|передайте|загрузи|загрузите|вышли|вышлите|слей)",
            r"(?:мои|мой|мою|наши)",
            r"(?:данные|пароли|переписку|историю|адреса|записи|базу|ключи|токены)",
            r"(?:на|в|по\s+адресу)",
        ),
        ("отправ", "перешл", "передаи", "загрузи", "вышл", "слеи"),
    ),
    # ------------------------------------------------------------------------- Japanese
    (
        "override",
        (
            r"(?:以前|前|これまで|上記|先|今まで|過去|最初|元|システム)の(?:すべての|全ての)?(?:指示|命令|ルール|指令|設定|制限|"
            r"プロンプト)[^。\n]{0,8}?(?:すべて|全て)?(?:無視|忘れ|破棄)|(?:すべての|全ての)(?:指示|命令|ルール)を(?:無視|忘れ)"
        ),
        ("無視", "忘れ", "破棄"),
    ),
    (
        "role",
        (
            r"(?:あなたは(?:今から|これから|もう|今日から)?|今から(?:あなた|君)は)[^。\n]{0,12}?(?:ai|人工知能|アシスタント|"
            r"ボット|管理者|ハッカー)(?:です|だ|として|になり)"
        ),
        ("あなた", "君"),
    ),
    (
        "system_prompt",
        r"システムプロンプト|(?:最初|元|初期|隠された|秘密)の(?:指示|プロンプト|命令)を(?:表示|教え|見せ|出力)",
        ("プロンプト", "指示", "命令"),
    ),
    (
        "exfiltration",
        (
            rf"(?:顧客|ユーザー|お客様|会員)の?(?:データ|情報|個人情報|メールアドレス|パスワード)[^。\n]{{0,20}}?{ADDRESS}[^。\n]{{0,8}}?"
            r"(?:送信|転送|送って|送る|アップロード)"
        ),
        ("@", "://"),
    ),
    (
        "hidden",
        r"ユーザーに(?:は)?(?:言わない|教えない|伝えない|知らせない)|ユーザーに(?:この|これ)[^。\n]{0,10}?(?:言わないで|伝えないで)",
        ("ユーザー",),
    ),
)
# fmt: on
