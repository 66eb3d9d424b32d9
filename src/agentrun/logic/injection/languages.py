"""The same shapes in Spanish, French and German (``more_languages``: Portuguese, Italian, Dutch,
Chinese, Russian and Japanese): forget your instructions, become someone else, show your prompt, send the data out,
keep this from the user.

Written as each language spells them and folded like the text at import (accents and "ß"
dropped, so "précédentes" and "precedentes" both match). The look-alikes that pass are the same
classes as in English: the writer's own things ("mi correo anterior", "我之前的邮件"), customers
rather than users ("no le digas nada al cliente"), notices rather than roles.
"""

# Pattern tables in other languages: long alternatives, and punctuation such as "，" that
# looks like ASCII on purpose.
# ruff: noqa: E501, RUF003
from agentrun.logic.injection.actions import ADDRESS
from agentrun.logic.injection.rules import Spec


def override(verbs: str, det: str, strong: str, nouns: str, post: str) -> str:
    """Verb, then the object with a qualifier that points at the model's instructions, before
    the noun ("todas las instrucciones") or right after it ("instrucciones anteriores")."""
    lead = rf"\b{verbs}\s+(?:{det}\s+|l'|d')*"
    return rf"{lead}(?:{strong}\s+(?:(?:{strong}|{det})\s+){{0,3}}{nouns}\b|{nouns}\s+{post}\b)"


def send(verbs: str, own: str, data: str, to: str) -> str:
    return (
        rf"\b{verbs}\s+(?:(?!{own}\b)[\w'-]+\s+){{0,4}}?{data}\b[^.\n]{{0,60}}?\b{to}\s+{ADDRESS}"
    )


_ES_NOUNS = r"(?:instrucciones|indicaciones|reglas|directrices|órdenes|normas|pautas|restricciones|consignas|prompts?|limitaciones|políticas|directivas)"
_FR_NOUNS = r"(?:instructions|consignes|règles|directives|indications|ordres|prompts?|restrictions|limites|politiques|réglages|paramètres)"
_DE_STRONG = r"(?:alle|allen|deine|deinen|ihre|ihren|eure|sämtliche|jegliche|vorherigen|vorigen|bisherigen|obigen|früheren|ursprünglichen|vorangegangenen|vorherige|bisherige|obige|system)"
_DE_NOUNS = r"(?:anweisungen|anweisung|instruktionen|regeln|vorgaben|richtlinien|befehle|einschränkungen|prompts?|systemanweisungen|systemprompts?|anordnungen|beschränkungen|direktiven)"

# fmt: off
LATIN: tuple[Spec, ...] = (
    # ------------------------------------------------------------------------- Spanish
    (
        "override",
        override(
            r"(?:ignora|ignore|ignoren|ignorar|ignores|olvida|olvide|olviden|olvidar|olvides|descarta|descarte|omite|"
            r"omita|hagan?\s+caso\s+omiso\s+(?:de|a)|haz\s+caso\s+omiso\s+(?:de|a)|no\s+sigas|no\s+siga|no\s+hagas\s+"
            r"caso\s+(?:de|a)|deja\s+de\s+(?:seguir|obedecer)|pasa\s+por\s+alto|desobedece|anula|sáltate)",
            r"(?:las|los|la|el|lo|del|de|al|a|cualquier|estas|esas)",
            r"(?:todas|todos|tus|sus|vuestras|anteriores|previas|previos|originales|iniciales|antiguas)",
            _ES_NOUNS,
            r"(?:anteriores|previas|previos|originales|iniciales|del\s+sistema|de\s+arriba|recibidas|que\s+(?:te|le)\s+"
            r"(?:dieron|han\s+dado))",
        ),
        ("ignor", "olvid", "descart", "omit", "omiso", "sigas", "siga", "deja", "alto", "desobedec", "anula", "saltate"),
    ),
    (
        "override",
        r"\b(?:ignora|olvida|olvide|ignore)\s+(?:todo\s+)?lo\s+(?:anterior|de\s+arriba|que\s+te\s+(?:dijeron|han\s+dicho))",
        ("lo",),
    ),
    (
        "role",
        (
            r"\b(?:ahora\s+eres|a\s+partir\s+de\s+ahora\s+(?:eres|serás|actuarás\s+como)|desde\s+ahora\s+eres|finge\s+(?:ser|"
            r"que\s+eres)|actúa\s+como(?:\s+si\s+fueras)?|haz\s+(?:el\s+papel\s+)?de|eres\s+ahora|imagina\s+que\s+eres|"
            r"simula\s+ser)\s+(?:un\s+|una\s+|el\s+|la\s+)?(?:[\w-]+\s+){0,2}?(?:ia|asistente|modelo|bot|chatbot|"
            r"administrador|inteligencia\s+artificial|dan|hacker|desarrollador)\b"
        ),
        ("eres", "finge", "actua", "haz", "simula"),
    ),
    (
        "role",
        (
            r"\b(?:a\s+partir\s+de\s+ahora|desde\s+ahora|ahora)\s*,?\s+(?:ya\s+)?no\s+tienes\s+(?:ninguna\s+|ningún\s+)?"
            r"(?:restricciones|límites|reglas|filtros|limitaciones)"
        ),
        ("tienes",),
    ),
    (
        "system_prompt",
        (
            r"\b(?:muestra|muéstrame|enseña|enséñame|revela|revélame|repite|imprime|dime|escribe|copia|comparte|dame)\s+"
            r"(?:[\w-]+\s+){0,2}?(?:(?:tu|tus)\s+(?:[\w-]+\s+)?(?:prompt|instrucciones|reglas|indicaciones|directrices|"
            r"mensaje\s+del\s+sistema|configuración)|(?:el|las|los)\s+(?:prompt|instrucciones|reglas|indicaciones)\s+"
            r"(?:del\s+sistema|iniciales|originales|ocultas|secretas|que\s+recibiste|que\s+te\s+dieron))|\bprompt\s+del?\s+sistema"
        ),
        ("muestra", "ensena", "revela", "repite", "imprime", "dime", "escribe", "copia", "comparte", "dame", "sistema"),
    ),
    (
        "exfiltration",
        send(
            r"(?:envía|envíe|enviar|reenvía|reenvíe|manda|mande|mandar|comparte|sube|transfiere|filtra)",
            r"(?:mis|mi|nuestros|nuestras)",
            r"(?:datos|registros|información|correos|emails|direcciones|contraseñas|claves|conversación|historial|tokens|credenciales)",
            r"(?:a|al|hacia|en)",
        ),
        ("envi", "mand", "compart", "sube", "transfiere", "filtra"),
    ),
    (
        "hidden",
        (
            r"\bno\s+(?:le\s+|les\s+)?(?:digas|diga|digan|menciones|mencione|cuentes|cuente|reveles|revele|informes|informe)\s+"
            r"(?:nada\s+|esto\s+)?(?:de\s+esto\s+)?(?:al|a\s+los|a\s+la)\s+(?:usuario|usuarios|humano|operador)"
        ),
        ("usuario", "humano", "operador"),
    ),
    # ------------------------------------------------------------------------- French
    (
        "override",
        override(
            r"(?:ignore|ignorez|ignorer|ignores|oublie|oubliez|oublier|ne\s+tiens?\s+(?:plus\s+|pas\s+)?compte|ne\s+tenez\s+"
            r"(?:plus\s+|pas\s+)?compte|fais\s+abstraction|faites\s+abstraction|néglige|négligez|passe\s+outre|passez\s+"
            r"outre|contourne|contournez|désobéis|désobéissez|n'obéis\s+plus|n'obéissez\s+plus|ne\s+suis\s+plus|"
            r"ne\s+suivez\s+plus|abandonne|abandonnez|efface|effacez|annule|annulez)",
            r"(?:les|la|le|des|de|du|aux|à|a|ces|cette|ce|tout|toute)",
            r"(?:toutes|tous|tes|vos|ta|ton|votre|précédentes|antérieures|initiales)",
            _FR_NOUNS,
            r"(?:précédentes|précédents|antérieures|ci-dessus|d'origine|initiales|originales|du\s+système|système|reçues|"
            r"données\s+(?:plus\s+haut|avant|précédemment|auparavant))",
        ),
        ("ignor", "oubli", "compte", "abstraction", "neglig", "outre", "contourn", "desobei", "obei", "suis", "suivez", "abandonn", "efface", "annul"),
    ),
    (
        "override",
        (
            r"\b(?:oublie|oubliez|ignore|ignorez)\s+tout\s+ce\s+(?:qui\s+(?:précède|est\s+au-dessus|a\s+été\s+dit)|qu'on\s+"
            r"(?:t|vous)'a\s+dit)"
        ),
        ("tout ce",),
    ),
    (
        "role",
        (
            r"\b(?:tu\s+es\s+(?:maintenant|désormais|à\s+présent|dorénavant)|vous\s+êtes\s+(?:maintenant|désormais|dorénavant)|"
            r"à\s+partir\s+de\s+maintenant,?\s+(?:tu\s+es|vous\s+êtes)|fais\s+comme\s+si\s+tu\s+étais|faites\s+comme\s+si\s+"
            r"vous\s+étiez|agis\s+comme|agissez\s+comme|joue\s+le\s+rôle\s+d[eu']?|jouez\s+le\s+rôle\s+d[eu']?|incarne|"
            r"incarnez|fais\s+semblant\s+d'être|imagine\s+que\s+tu\s+es)\s*(?:un\s+|une\s+|le\s+|la\s+|l'|d'un\s+|d'une\s+)?"
            r"(?:[\w-]+\s+){0,2}?(?:ia|assistant|modèle|bot|chatbot|administrateur|admin|intelligence\s+artificielle|"
            r"pirate|hacker|dan|développeur)\b"
        ),
        ("tu", "vous", "agis", "incarne", "joue", "fais"),
    ),
    (
        "system_prompt",
        (
            r"\b(?:affiche|affichez|montre|montrez|révèle|révélez|répète|répétez|imprime|donne|donnez|écris|écrivez|copie|"
            r"copiez|dis|dites|récite)(?:-moi|-nous)?\s+(?:[\w-]+\s+){0,2}?(?:(?:ton|ta|tes|votre|vos)\s+(?:[\w-]+\s+)?"
            r"(?:prompt|instructions|consignes|règles|message\s+système|directives|configuration)|(?:le|la|les)\s+"
            r"(?:prompt|instructions|consignes|règles)\s+(?:système|cachées|secrètes|initiales|d'origine|que\s+tu\s+as\s+"
            r"reçues|qu'on\s+t'a\s+données))|\bprompt\s+(?:du\s+)?système"
        ),
        ("affich", "montr", "revel", "repet", "imprim", "donne", "ecri", "copie", "dis", "dites", "recite", "systeme"),
    ),
    (
        "exfiltration",
        send(
            r"(?:envoie|envoyez|envoyer|transfère|transférez|partage|partagez|transmets|transmettez|expédie|expédiez|téléverse)",
            r"(?:mes|mon|ma|nos)",
            r"(?:données|informations|adresses|e-?mails|courriels|mots\s+de\s+passe|conversation|historique|jetons|clés|identifiants)",
            r"(?:à|a|au|vers|sur)",
        ),
        ("envo", "transf", "partag", "transm", "exped", "televers"),
    ),
    (
        "hidden",
        (
            r"\bne\s+(?:le\s+|lui\s+|leur\s+)?(?:dis|dites|mentionne|mentionnez|révèle|révélez|signale|signalez)\s+(?:rien\s+|"
            r"pas\s+|jamais\s+)?(?:de\s+(?:ceci|cela|ça)\s+)?(?:à\s+l'|à\s+|aux?\s+)(?:utilisateur|utilisateurs|humain|opérateur)"
        ),
        ("utilisateur", "humain", "operateur"),
    ),
    # ------------------------------------------------------------------------- German
    (
        "override",
        override(
            r"(?:ignoriere|ignorier|ignoriert|ignorieren\s+sie|vergiss|vergesst|vergessen\s+sie|missachte|missachtet|"
            r"missachten\s+sie|überspringe|verwirf|verwerft|verwerfen\s+sie|befolge\s+nicht\s+mehr|befolgen\s+sie\s+nicht\s+"
            r"mehr|umgehe|umgehen\s+sie)",
            r"(?:die|der|den|das|dem|des|jede|jeden|von)",
            _DE_STRONG,
            _DE_NOUNS,
            r"(?:des\s+systems|von\s+oben|von\s+vorher)",
        ),
        ("anweisung", "instruktion", "regeln", "vorgaben", "richtlinien", "befehle", "einschrankung", "prompt", "anordnung", "beschrankung", "direktive"),
    ),
    (
        "override",
        (
            rf"\b{_DE_STRONG}\s+(?:(?:{_DE_STRONG}|die|der|den)\s+){{0,2}}{_DE_NOUNS}\s+(?:[\w-]+\s+){{0,2}}?(?:ignorieren|"
            r"vergessen|missachten|überspringen|verwerfen)"
        ),
        ("ignorieren", "vergessen", "missachten", "uberspringen", "verwerfen"),
    ),
    (
        "override",
        (
            r"\b(?:vergiss|vergessen\s+sie|ignoriere)\s+alles,?\s+was\s+(?:dir|ihnen|du|sie)\s+(?:[\w-]+\s+){0,2}?(?:gesagt|"
            r"befohlen|aufgetragen|vorgegeben)"
        ),
        ("alles",),
    ),
    (
        "override",
        (
            r"\b(?:ab\s+(?:jetzt|sofort)|von\s+nun\s+an|ab\s+heute)\s*,?\s+(?:gelten|gibt\s+es)\s+(?:deine|ihre|die|keine)\s+"
            r"(?:alten\s+|bisherigen\s+)?(?:regeln|anweisungen|vorgaben|einschränkungen|grenzen)(?:\s+nicht\s+mehr)?"
        ),
        ("gelten", "gibt"),
    ),
    (
        "role",
        (
            r"\b(?:du\s+bist\s+(?:jetzt|nun|ab\s+sofort|ab\s+jetzt|von\s+nun\s+an)|ab\s+(?:sofort|jetzt)\s+bist\s+du|sie\s+sind\s+"
            r"(?:jetzt|nun|ab\s+sofort)|tu\s+so,?\s+als\s+(?:ob\s+du|wärst\s+du|seist\s+du)|tun\s+sie\s+so,?\s+als\s+(?:ob\s+sie|"
            r"wären\s+sie)|gib\s+dich\s+als|spiele?\s+die\s+rolle|verhalte\s+dich\s+(?:wie|als)|agiere\s+als|stell\s+dir\s+vor,?"
            r"\s+du\s+(?:bist|wärst))\s+(?:[\w-]+\s+){0,3}?(?:ki|assistent|assistentin|modell|bot|chatbot|administrator|admin|"
            r"hacker|dan|entwickler|sprachmodell)\b"
        ),
        ("du", "sie", "gib", "spiel", "verhalte", "agiere", "stell"),
    ),
    (
        "system_prompt",
        (
            r"\b(?:zeig|zeige|zeigen\s+sie|gib|geben\s+sie|nenne|nennen\s+sie|wiederhole|wiederholen\s+sie|verrate|verraten\s+"
            r"sie|drucke|schreib|schreibe|kopiere|liste)(?:\s+mir|\s+uns)?\s+(?:[\w-]+\s+){0,2}?(?:(?:deinen|deine|dein|ihren|"
            r"ihre|ihr|euren)\s+(?:[\w-]+\s+)?(?:systemprompt|system-prompt|prompt|anweisungen|regeln|systemanweisungen|"
            r"vorgaben|instruktionen|konfiguration)|(?:den|die)\s+(?:ursprünglichen|geheimen|versteckten|internen|"
            r"anfänglichen)\s+(?:prompt|anweisungen|regeln|vorgaben))(?!\s+(?:für|zur|zum|bei|über|von|zu)\b)"
            r"|\b(?:systemprompt|system-prompt|systemanweisungen)\b"
        ),
        ("zeig", "gib", "geben", "nenne", "wiederhol", "verrat", "druck", "schreib", "kopier", "liste", "systemprompt", "system-prompt", "systemanweisung"),
    ),
    (
        "exfiltration",
        send(
            r"(?:sende|senden\s+sie|schicke|schick|schicken\s+sie|leite|leiten\s+sie|übermittle|übermitteln\s+sie|teile|lade|exportiere)",
            r"(?:meine|mein|meinen|unsere)",
            r"(?:kundendaten|daten|passwörter|zugangsdaten|gesprächsverlauf|chatverlauf|verlauf|e-mail-adressen|datensätze|schlüssel|tokens|api-schlüssel|kundenliste)",
            r"(?:an|nach|zu|auf)",
        ),
        ("send", "schick", "leite", "ubermittl", "teile", "lade", "exportier"),
    ),
    (
        "hidden",
        (
            r"\b(?:sag|sage|sagen\s+sie|erzähl|erzähle|erwähne|verrate|verraten\s+sie)\s+(?:[\w-]+\s+){0,2}?(?:(?:dem|den)\s+"
            r"(?:benutzer|nutzer|user|menschen|operator|anwender)\s+(?:[\w-]+\s+){0,2}?nichts|nichts\s+(?:[\w-]+\s+){0,2}?"
            r"(?:dem|den)\s+(?:benutzer|nutzer|user|anwender))|\bohne\s+(?:es\s+)?dem\s+(?:benutzer|nutzer)\s+zu\s+sagen"
        ),
        ("benutzer", "nutzer", "user", "menschen", "operator", "anwender"),
    ),

)
# fmt: on
