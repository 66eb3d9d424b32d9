"""The screen's shapes in seven more languages (screen version 3): Turkish, Polish, Indonesian and
Vietnamese in Latin script; Korean, Arabic and Ukrainian in their own.

The same shapes as ``languages``: forget your instructions, become someone else, show your
prompt. Written as each language spells them and folded like the text at import, so Vietnamese
and Turkish match with or without their marks. The look-alikes that pass are the same classes
as in English: the writer's own earlier message ("abaikan email saya sebelumnya"), instructions
that are the customer's own (delivery, payment), a role that is not the model's. Runs that began
under screen version 2 keep screening without these (``screen.screen_injection``).
"""

# Pattern tables in other languages: long alternatives, and letters that look like ASCII.
# ruff: noqa: E501, RUF001

from agentrun.logic.injection.rules import Spec

_TR_NOUNS = r"(?:talimatları|talimatlari|talimatlarını|yönergeleri|kuralları|komutları|direktifleri|kısıtlamaları|promptu|istemi)"
_PL_NOUNS = r"(?:instrukcje|instrukcji|instrukcjami|polecenia|poleceń|zasady|zasad|reguły|reguł|wytyczne|wytycznych|ograniczenia|ograniczeń|prompt)"
_ID_NOUNS = r"(?:instruksi|perintah|aturan|arahan|pedoman|batasan|prompt)"
_VI_NOUNS = (
    r"(?:hướng\s+dẫn|chỉ\s+dẫn|chỉ\s+thị|mệnh\s+lệnh|lệnh|quy\s+tắc|quy\s+định|giới\s+hạn|prompt)"
)
_UK_NOUNS = r"(?:інструкції|інструкцій|вказівки|вказівок|правила|команди|обмеження|промпт|настанови|директиви)"
_AR_NOUNS = r"(?:ال)?(?:تعليمات|إرشادات|ارشادات|أوامر|اوامر|قواعد|توجيهات|قيود)"

# fmt: off
LATIN: tuple[Spec, ...] = (
    # ------------------------------------------------------------------------- Turkish
    (
        "override",
        (
            r"\b(?:(?:önceki|tüm|bütün|yukarıdaki|eski|sistem|ilk|orijinal|senin|verilen)\s+){1,3}" + _TR_NOUNS
            + r"\s+(?:[\w-]+\s+){0,2}?(?:unut|görmezden\s+gel|yok\s+say|dikkate\s+alma|umursama|boşver|boş\s+ver|uygulama)"
        ),
        ("unut", "görmezden", "yok say", "dikkate", "umursama", "boşver", "boş ver", "uygulama"),
    ),
    (
        "role",
        (
            r"\b(?:artık|şu\s+andan\s+itibaren|bundan\s+sonra|bugünden\s+itibaren)\s+(?:sen\s+)?(?:[\w-]+\s+){0,3}?"
            r"(?:kısıtlamasız|sınırsız|kuralsız|yapay\s+zeka\w*|asistan\w*|yönetici\w*|hacker\w*)\b"
        ),
        ("artık", "itibaren", "sonra"),
    ),
    (
        "system_prompt",
        (
            r"\bsistem\s+(?:istemini|promptunu|talimatlarını|mesajını)|\b(?:gizli|orijinal|ilk|asıl)\s+(?:talimatlarını|"
            r"kurallarını|promptunu)\s+(?:[\w-]+\s+)?(?:göster|yaz|söyle|paylaş|tekrarla|açıkla)"
        ),
        ("sistem", "talimat", "kural", "prompt"),
    ),
    # ------------------------------------------------------------------------- Polish
    (
        "override",
        (
            r"\b(?:zignoruj|ignoruj|zignorujcie|zapomnij|zapomnijcie|pomiń|nie\s+słuchaj|nie\s+stosuj\s+się\s+do|porzuć)\s+"
            r"(?:[\w-]+\s+){0,2}?(?:wszystkie|wszystkich|poprzednie|poprzednich|wcześniejsze|wcześniejszych|swoje|swoich|"
            r"systemowe|systemowych|dotychczasowe|dotychczasowych|twoje|twoich)\s+(?:[\w-]+\s+)?" + _PL_NOUNS
        ),
        ("instrukc", "polecen", "zasad", "regul", "wytyczn", "ograniczen", "prompt"),
    ),
    (
        "role",
        (
            r"\b(?:teraz\s+jesteś|od\s+teraz\s+jesteś|od\s+tej\s+chwili\s+jesteś|udawaj,?\s+że\s+jesteś|zachowuj\s+się\s+jak|"
            r"wciel\s+się\s+w)\s+(?:[\w-]+\s+){0,2}?(?:ai|sztuczną\s+inteligencją|asystentem|administratorem|hakerem|botem|"
            r"modelem|bez\s+ograniczeń)"
        ),
        ("teraz", "udawaj", "zachowuj", "wciel", "chwili"),
    ),
    (
        "system_prompt",
        (
            r"\bprompt\w*\s+systemow\w+|\bsystemow\w+\s+prompt\w*|\b(?:pokaż|wypisz|powtórz|ujawnij|podaj|wyświetl)\s+"
            r"(?:mi\s+)?(?:[\w-]+\s+)?(?:swoje|swój|twoje|twój|ukryte|oryginalne|początkowe|systemowe)\s+"
            r"(?:instrukcje|polecenia|zasady|prompt\w*)"
        ),
        ("prompt", "instrukcje", "polecenia", "zasady"),
    ),
    # ------------------------------------------------------------------------- Indonesian
    (
        "override",
        (
            r"\b(?:abaikan|lupakan|jangan\s+ikuti|acuhkan|tinggalkan|hiraukan)\s+(?:(?:semua|seluruh)\s+" + _ID_NOUNS
            + r"|" + _ID_NOUNS + r"\s+(?:(?:yang\s+)?(?:sebelumnya|sistem|awal|asli|di\s+atas|tadi|lama)|(?:kamu|anda|mu)\b))"
        ),
        ("instruksi", "perintah", "aturan", "arahan", "pedoman", "batasan", "prompt"),
    ),
    (
        "role",
        (
            r"\b(?:sekarang\s+(?:kamu|anda|engkau)|mulai\s+(?:sekarang|saat\s+ini)\s*,?\s+(?:kamu|anda)|berpura-pura(?:lah)?|"
            r"bertindaklah\s+sebagai|bertindak\s+sebagai)\s+(?:adalah\s+|menjadi\s+)?(?:[\w-]+\s+){0,2}?(?:ai|asisten|"
            r"admin|administrator|peretas|hacker|bot|model|tanpa\s+batasan|tanpa\s+aturan)\b"
        ),
        ("sekarang", "mulai", "pura", "bertindak"),
    ),
    (
        "system_prompt",
        (
            r"\bprompt\s+sistem\w*|\b(?:tampilkan|tunjukkan|ulangi|bocorkan|sebutkan|tuliskan)\s+(?:[\w-]+\s+){0,2}?"
            r"(?:instruksi|perintah|prompt|aturan)\s+(?:sistem|asli|awal|rahasia|tersembunyi)(?:mu)?"
        ),
        ("prompt", "instruksi", "perintah", "aturan"),
    ),
    # ------------------------------------------------------------------------- Vietnamese
    (
        "override",
        (
            r"\b(?:bỏ\s+qua|phớt\s+lờ|quên\s+đi|hãy\s+quên|đừng\s+làm\s+theo|không\s+tuân\s+theo|đừng\s+tuân\s+theo|"
            r"vô\s+hiệu\s+hóa)\s+(?:[\w-]+\s+){0,3}?" + _VI_NOUNS
            + r"\s+(?:[\w-]+\s+){0,1}?(?:trước\s+đó|trước|ban\s+đầu|hệ\s+thống|gốc|cũ|ở\s+trên|của\s+(?:bạn|hệ\s+thống))"
        ),
        ("huong", "chi", "lenh", "quy", "gioi", "prompt"),
    ),
    (
        "role",
        (
            r"\b(?:bây\s+giờ|từ\s+giờ|từ\s+bây\s+giờ|kể\s+từ\s+bây\s+giờ)\s*,?\s+(?:bạn|mày|cậu)\s+(?:là|đóng\s+vai|sẽ\s+là)\s+"
            r"(?:[\w-]+\s+){0,3}?(?:ai|trí\s+tuệ\s+nhân\s+tạo|trợ\s+lý|quản\s+trị|hacker|tin\s+tặc|không\s+bị\s+giới\s+hạn|"
            r"không\s+có\s+giới\s+hạn)"
        ),
        ("giờ",),
    ),
    (
        "system_prompt",
        (
            r"\b(?:lời\s+nhắc|prompt|chỉ\s+dẫn)\s+hệ\s+thống|\b(?:hiển\s+thị|cho\s+tôi\s+xem|tiết\s+lộ|in\s+ra|lặp\s+lại|"
            r"viết\s+ra)\s+(?:[\w-]+\s+){0,3}?(?:hướng\s+dẫn|chỉ\s+dẫn|prompt|lời\s+nhắc)\s+(?:ban\s+đầu|gốc|hệ\s+thống|bí\s+mật|"
            r"của\s+bạn)"
        ),
        ("hệ thống", "hướng", "chỉ dẫn", "prompt", "lời nhắc"),
    ),
)

OTHER: tuple[Spec, ...] = (
    # ------------------------------------------------------------------------- Korean
    (
        "override",
        (
            r"(?:이전|앞|위|기존|원래|모든|시스템)[의에서]?\s*(?:모든\s*)?(?:지시|지침|명령|규칙|프롬프트|설정|제한)[^.\n]{0,10}?"
            r"(?:무시|잊어|잊으|잊고|따르지\s*마|따르지\s*말)"
        ),
        ("무시", "잊어", "잊으", "잊고", "따르지"),
    ),
    (
        "role",
        (
            r"(?:지금부터|이제부터|이제|오늘부터)\s*(?:너는|넌|당신은)[^.\n]{0,20}?(?:ai|인공지능|어시스턴트|봇|관리자|해커|"
            r"제한\s*없는|제한이\s*없는)"
        ),
        ("너는", "넌", "당신은"),
    ),
    (
        "system_prompt",
        (
            r"시스템\s*프롬프트|(?:너의|당신의|원래|초기|숨겨진|처음)\s*(?:지시|지침|프롬프트|설정|명령)[^.\n]{0,10}?"
            r"(?:보여|출력|알려|공개|말해)"
        ),
        ("프롬프트", "지시", "지침", "설정", "명령"),
    ),
    # ------------------------------------------------------------------------- Arabic
    (
        "override",
        (
            r"(?:تجاهل|تجاهلي|تجاهلوا|انس|انسى|انسي|انسوا|أهمل|اهمل|لا\s+تتبع|لا\s+تلتزم\s+ب)\s*(?:(?:جميع|كل|كافة)\s+"
            + _AR_NOUNS + r"|" + _AR_NOUNS + r"\s+(?:السابقة|الأصلية|الاصلية|النظام|الأولى|السابق|الخاصة\s+بك))"
        ),
        ("تعليمات", "إرشادات", "ارشادات", "أوامر", "اوامر", "قواعد", "توجيهات", "قيود"),
    ),
    (
        "role",
        (
            r"(?:أنت|انت)\s+(?:الآن|الان|من\s+الآن)\s+(?:\S+\s+){0,2}?(?:ذكاء\s+اصطناعي|مساعد|هاكر|بلا\s+قيود|"
            r"بدون\s+قيود)"
        ),
        ("أنت", "انت"),
    ),
    (
        "system_prompt",
        (
            r"(?:موجه|تعليمات|رسالة)\s+النظام|(?:اعرض|أظهر|اظهر|اكشف|اطبع|كرر|أرني|ارني)\s+(?:لي\s+)?(?:\S+\s+){0,2}?"
            r"(?:تعليماتك|قواعدك|أوامرك|اوامرك|موجهك|تعليماتك\s+الأصلية)"
        ),
        ("النظام", "تعليماتك", "قواعدك", "أوامرك", "اوامرك", "موجهك"),
    ),
    # ------------------------------------------------------------------------- Ukrainian
    (
        "override",
        (
            r"\b(?:ігноруй|ігноруйте|проігноруй|проігноруйте|забудь|забудьте|не\s+зважай\s+на|не\s+зважайте\s+на|відкинь|"
            r"не\s+виконуй)\s+(?:[\w-]+\s+){0,2}?(?:всі|усі|попередні|свої|твої|ваші|системні|початкові|вищезазначені|"
            r"всіх|усіх|попередніх)\s+(?:[\w-]+\s+)?" + _UK_NOUNS
        ),
        ("інструкц", "вказів", "правил", "команд", "обмежен", "промпт", "настанов", "директив"),
    ),
    (
        "role",
        (
            r"\b(?:тепер\s+ти|ти\s+тепер|відтепер\s+ти|з\s+цього\s+моменту\s+ти|удавай,?\s+що\s+ти|поводься\s+як|дій\s+як)\s+"
            r"(?:[\w-]+\s+){0,3}?(?:ші|штучний\s+інтелект|асистент\w*|адміністратор\w*|хакер\w*|бот\w*|модель)\b"
        ),
        ("ти", "удавай", "поводься", "дій"),
    ),
    (
        "system_prompt",
        (
            r"\bсистемн\w+\s+(?:промпт|інструкці\w+|підказк\w+)|\b(?:покажи|покажіть|виведи|розкрий|повтори|напиши)\s+"
            r"(?:мені\s+)?(?:[\w-]+\s+)?(?:свої|твої|ваші|свій|твій|приховані|початкові|секретні)\s+(?:[\w-]+\s+)?"
            r"(?:інструкції|правила|вказівки|промпт)"
        ),
        ("промпт", "інструкці", "підказк", "правила", "вказівки"),
    ),
)
# fmt: on
