"""Every word list and header rule the classifier uses, in one place.

Change a rule here, add a labelled example under tests/mail/, and run
`inbox-bot score` to see what it does to accuracy.
"""

from __future__ import annotations

import re

# --- RFC 3834 / RFC 5230 and what deployed responders check (see research notes) ---

# Auto-Submitted: any token other than "no" marks machine mail (RFC 3834 section 5).
AUTO_SUBMITTED_HUMAN = "no"
# X-Auto-Response-Suppress values that Exchange puts on automatic mail.
SUPPRESS_TOKENS = frozenset({"all", "oof", "autoreply"})
PRECEDENCE_AUTOMATIC = frozenset({"bulk", "junk", "list"})
# Headers whose mere presence marks automatic or list mail.
AUTOMATIC_HEADERS = ("x-autoreply", "x-autorespond", "x-failed-recipients")
LOOP_HEADERS = ("x-loop", "x-no-loop", "x-inbox-bot-loop")
# Local parts of senders that are machines (RFC 3834 section 2, RFC 5230 section 4.6, Zammad).
BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)$", re.I)
MACHINE_SENDERS = re.compile(
    r"^(no-?reply.*|do-?not-?reply.*|noreply.*|.*-request|owner-.*|listserv|majordomo|bounces?[-+].*)$",
    re.I,
)

# Subjects of automatic mail from clients that set no header (old Outlook, webmail).
SUBJECT_AUTO_REPLY = re.compile(
    r"^\s*(automatische antwort|abwesenheitsnotiz|abwesenheit|out of office|"
    r"automatic reply|auto(?:matic)?[- ]?reply|autoreply|auto:|urlaub|vacation|"
    r"r[ée]ponse automatique|office closed)\b",
    re.I,
)
SUBJECT_READ_RECEIPT = re.compile(
    r"^\s*(gelesen|read|ungelesen gelöscht|not read|lesebestätigung|read receipt|"
    r"zugestellt|delivered)\s*:",
    re.I,
)
SUBJECT_BOUNCE = re.compile(
    r"^\s*(unzustellbar|undeliverable|undelivered mail|returned mail|delivery status notification"
    r"|mail delivery (?:failed|failure|subsystem)|nicht zustellbar|failure notice)",
    re.I,
)

# --- what a person wants (matched on the new text, case-insensitive) ---

CANCELLATION = re.compile(
    r"absage|sage\b.{0,60}\bab\b|abmelden|abmeldung|melde\b.{0,60}\bab\b|storn|"
    r"zur(?:ü|ue)ckziehen|zur(?:ü|ue)ckzuziehen|zur(?:ü|ue)cknehmen|streichen|austragen|"
    r"nicht\s+(?:mehr\s+)?(?:teilnehmen|dabei sein|kommen)|nicht\s+dabei\s+sein|"
    r"nicht\s+teilnehmen|verhindert|kann\s+(?:am\s+\S+\s+(?:\S+\s+)?)?leider\s+nicht\b|"
    r"\bnicht\b.{0,40}?\b(?:teilnehmen|kommen|dabei\s+sein)\s+(?:kann|können|werde|werden)\b|"
    r"\b(?:kann|können|wird|werden)\b.{0,60}?\bnicht\b.{0,40}?\b(?:teilnehmen|kommen|dabei)\b|"
    r"\bcancel|withdraw|can(?:no|')t\s+(?:attend|make it|come)|unable to attend|"
    r"no longer (?:attend|able)|not be able to (?:attend|come)|"
    # "Jannik muss leider passen", "ich schaffe es leider nicht"
    r"\bmuss\b.{0,20}\bpassen\b|\bpassen\s+müssen\b|\bschaff(?:e|t|en)\s+es\b.{0,30}\bnicht\b",
    re.I | re.S,
)
REGISTRATION = re.compile(
    r"anmeld|meld(?:e|en|et)\b.{0,160}?\ban\b|anzumelden|teilnehmen|teilnahme|nehme\b.{0,160}?\bteil\b|"
    r"nimmt\b.{0,160}?\bteil\b|nehmen\b.{0,160}?\bteil\b|dabei\s+sein|vormerken|merken\s+sie|"
    r"eintragen|tragen\s+sie\b.{0,60}\bein\b|teilnehmerliste\s+auf|"
    r"\bregist|sign (?:me|us) up|\battend|participate|join the",
    re.I | re.S,
)
THANKS = re.compile(
    r"\b(danke|dank|vielen dank|besten dank|herzlichen dank|thank|thanks|merci)\b", re.I
)
# Subjects that mark forwarded mail: the forwarded part may hold the registration.
FORWARD_SUBJECT = re.compile(r"^\s*(wg|fw|fwd|weitergeleitet)\s*:", re.I)
REPLY_SUBJECT = re.compile(r"^\s*(aw|re|antwort|sv)\s*:", re.I)

# --- persons in the text ---

# A capitalised name word in any Latin script ("Yıldız", "Łukasz"); [^\W\d_] is a letter.
_UPPER = "[A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u017f]"
_NAME_WORD = rf"{_UPPER}[^\W\d_A-Z]+(?:-{_UPPER}[^\W\d_A-Z]+)?"
_PARTICLE = r"(?:von|van|de|zu|vom|von der|van der|ten|ter)"
# Dots are optional: sentence splitting drops the dots of abbreviations.
_TITLE_ONE = (
    r"(?:Prof\b\.?|Dr\b\.?(?:[- ]?(?:Ing|med|rer\.?\s?(?:nat|pol|oec)|phil|jur|habil)\b\.?)*"
    r"|Dipl\.?-\w+\.?)"
)
_TITLES = rf"(?:{_TITLE_ONE}\s*)*"
PERSON_NAME = rf"{_NAME_WORD}(?:\s+{_PARTICLE})?(?:\s+{_NAME_WORD}){{1,2}}"
# Functions before a name: "Bürgermeister", "Fachbereichsleiter", "Technischer Beigeordneter"
_FUNCTION = (
    r"(?:(?:Technische[rn]?|Erste[rn]?|Stellvertretende[rn]?)\s+)?"
    r"(?:[A-ZÄÖÜ][a-zäöüß]{0,30}(?:leiter|leiterin|meister|meisterin|direktor|direktorin|"
    r"dezernent|dezernentin|referent|referentin|präsident|präsidentin|geschäftsführer|"
    r"geschäftsführerin|beauftragte|beauftragter|beauftragten|kämmerer|kämmerin)"
    r"|Beigeordnete[rn]?|Stadtbaurat|Stadtbaurätin|Landrat|Landrätin|Stadtrat|Stadträtin|"
    r"Oberbürgermeister(?:in)?|Bürgermeister(?:in)?|Vorstand|Vorsitzende[rn]?)"
)
# "Herr Marco Lindner", "Frau Dr. Anna Schulz", "Herrn Fachbereichsleiter Dipl.-Ing. Hans Pieper"
ADDRESSED_PERSON = re.compile(
    rf"\b(?:Herrn?|Frau|Mr\.?|Mrs\.?|Ms\.?)\s+(?:(?:{_TITLE_ONE}|{_FUNCTION})\s*){{0,4}}"
    rf"({_NAME_WORD}(?:\s+{_PARTICLE})?(?:\s+{_NAME_WORD})?)"
)
# "our Head of Department, Prof. Dr. Sabine Engelhardt-Kühn", "unseren Beigeordneten Dr. Max
# Beispiel"
# A known function may stand right before the name; any other word ("unserer Stabsstelle
# Smart City") only with a salutation or a title between: "our Head of Unit, Dr. ...".
ON_BEHALF = re.compile(
    rf"\b(?i:our|my|unser(?:e[nrms]?)?|mein(?:e[nrms]?)?)\s+"
    rf"(?:{_FUNCTION},?\s+(?:(?:Herrn?|Frau|Mr\.?|Mrs\.?|Ms\.?)\s+)?(?:{_TITLE_ONE}\s*){{0,3}}"
    rf"|[A-Z][a-z]+(?:\s+(?:of|for)\s+[A-Z][a-z]+)?,?\s+"
    rf"(?:(?:Herrn?|Frau|Mr\.?|Mrs\.?|Ms\.?)\s+(?:{_TITLE_ONE}\s*){{0,3}}|(?:{_TITLE_ONE}\s*){{1,3}}))"
    rf"({PERSON_NAME})"
)
# A lone capitalised word opening a clause, followed by a verb and not by its subject
# ("Leider muss ich" inverts: "ich" is the subject there).
FIRST_NAME_SUBJECT = re.compile(
    rf"(?:^|[:;,]\s*|\bund\s+)({_UPPER}[^\W\d_A-Z]{{2,}}(?:[ -]{_UPPER}[^\W\d_A-Z]{{2,}})?)(?=\s+"
    r"(?:muss|kann|wird|ist|hat|schafft|fällt|must|can(?:not|'t)?|will|won't|is)\b"
    r"(?!\s+(?:ich|wir|er|sie|es|man|i|we|he|she|it|they)\b))"
    # inverted: "Leider muss Jannik absagen"
    rf"|\b(?:muss|kann|wird)\s+({_UPPER}[^\W\d_A-Z]{{2,}})\s+"
    r"(?:leider|doch|nun|kurzfristig|absagen|nicht)\b",
    re.M,
)
NOT_A_SUBJECT = frozenset(
    """leider dann nun jetzt aber auch da das dies dieser diese es er sie wir ich man heute
    morgen außerdem ausserdem zudem deshalb daher somit also unfortunately sadly however
    der die den dem""".split()
)
# "mein Kollege Lukas Brenner", "meine Kollegin Frau Dr. Anna Schulz", "my colleague Jane Doe"
COLLEAGUE = re.compile(
    rf"\b(?i:mein(?:e[mnrs]?)?|unser(?:e[mnrs]?)?|my|our)\s+(?i:Kolleg(?:e|in|en|innen)|Mitarbeiter(?:in)?|"
    rf"Vertreter(?:in)?|Mitgründer(?:in)?|Mitgruender(?:in)?|Teamkolleg(?:e|in)|"
    rf"Vorgesetzte[rn]?|Chef(?:in)?|colleagues?|co-?founder|manager|boss)\s+"
    rf"(?:(?:Herrn?|Frau|Mr\.?|Mrs\.?|Ms\.?)\s+)?{_TITLES}"
    rf"({PERSON_NAME})"
)
# An address starts where a run of address characters starts, and each run is read once
# (possessive): searched at every position of 50 KB of letters, "[\w.+-]+@" was quadratic.
EMAIL_IN_TEXT = re.compile(r"(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)+")

# Closing formulas after which the signature (name first) begins. The leading blanks stay
# within the line: "^\s*" read every following blank line again at each line start.
CLOSING = re.compile(
    r"^[^\S\n]*+(mit freundlichen (?:grüßen|gruessen|grüssen)|mit freundlichem (?:gruß|gruss)|"
    r"(?:freundliche|viele|beste|herzliche|liebe|schöne|schoene) (?:grüße|gruesse|grüsse)|"
    r"gruß|gruss|grüße|gruesse|grüsse|mfg|lg|vg|"
    r"danke und (?:gruß|gruss)|danke und viele (?:grüße|gruesse)|besten dank und viele grüße|"
    r"best regards|kind regards|regards|best wishes|best|cheers|sincerely|yours)\b.*$",
    re.I | re.M,
)
# Months and weekdays: never part of a person's name in a list line.
CALENDAR_WORDS = frozenset(
    """januar februar märz maerz april mai juni juli august september oktober november
    dezember january february march may june july october december montag dienstag
    mittwoch donnerstag freitag samstag sonntag monday tuesday wednesday thursday friday
    saturday sunday""".split()
)
# Display names of shared mailboxes rather than persons.
MAILBOX_NAME = re.compile(
    r"\b(stadt|gemeinde|kreis|team|poststelle|sekretariat|büro|buero|info|verwaltung|"
    r"amt|referat|abteilung|fachbereich|digitalisierung|service|zentrale|office|kontakt)\b",
    re.I,
)
# "i.A.", "i.V.", "Im Auftrag" before a signature name.
SIGNATURE_PREFIX = re.compile(r"^\s*(?:i\.\s?a\.|i\.\s?v\.|im auftrag|ppa\.)\s*", re.I)

# --- language ---

ENGLISH_WORDS = frozenset(
    """the and please register me my i am for to on of with would like dear regards
    thank you best wishes attend event""".split()
)
GERMAN_WORDS = frozenset(
    """der die das und ich mich mit für am zum zur bitte sehr geehrte damen herren grüße
    gerne möchte anmeldung teilnehmen ihnen sie""".split()
)

# --- organisations in signatures ---

# A legal form ends the name of a company: "... Energie gGmbH", "... PartGmbB", "... B.V."
LEGAL_FORM_END = (
    r"\b(?:SE|KG|AöR|eG|gGmbH|GmbH|mbH|AG|OHG|GbR|UG(?: \(haftungsbeschränkt\))?|PartGmbB|"
    r"PartG(?: mbB)?|mbB|Ltd\.?|Inc\.?|LLC|B\.V\.|N\.V\.|e\.\s?V\.)$"
)
ORGANIZATION_LINE = re.compile(
    r"^(?:Stadt|Gemeinde|Kreis|Hansestadt|Landkreis|Hochschule|Universität|Fachhochschule|"
    r"Technische Universität|Bezirksregierung|Landschaftsverband|Regionalverband|"
    r"Industrie- und Handelskammer|Handwerkskammer|Städte- und Gemeindebund|Städtetag|"
    # neighbours across the border write in their own language
    r"Gemeente|Municipality of|City of|County of|Ville de|Comune di|Gmina|Miasto|"
    # federal and state bodies: "Deutscher Wetterdienst", "Bundesamt für ...", "Landesbetrieb"
    r"Deutsche[rs]?|Bundes\w+|Landes\w+)\b.*"
    r"|.*(?:-Kreis|er Kreis|kreis)$|.*\b(?:GmbH|AG|e\.\s?V\.|mbH)\b.*"
    r"|\S*(?:genossenschaft|verband|kammer|agentur|stadtwerke|werke|betriebe)$"
    rf"|.*{LEGAL_FORM_END}",
)
# A signature line that names an organisation somewhere in it ("Zweckverband Nahverkehr
# Westfalen-Lippe", "pro Ruhrgebiet e.V.", "Westfälische Hochschule"), and lines that
# name a part of one, a function, an address or a way to reach someone, which do not.
ORGANIZATION_ANYWHERE = re.compile(
    r"\b(?:Zweckverband|Verband|Verein|Hochschule|Universität|Universitaet|University|"
    r"Fachhochschule|Kammer|Agentur|Stadtwerke|Verkehrsbetriebe|Stiftung|Akademie|"
    r"Genossenschaft|Landschaftsverband|Bezirksregierung|Ministerium|Landesamt|Kreisverwaltung|"
    r"Stadtverwaltung|Gemeindeverwaltung|Wirtschaftsförderung|Sparkasse|Bank|Gesellschaft|"
    r"College|Council|Association|Agency|Institut für|Gemeente|Consulting|Consultants|"
    r"Beratung|Ingenieurbüro|Planungsbüro|Architekten|Landschaftsarchitekten)\b"
    r"|\b(?:GmbH|gGmbH|mbH|AG|e\.\s?V\.|eG|AöR|KG|SE|Ltd\.?|Inc\.?|LLC|UG)(?=$|[\s,.&])",
)
NOT_ORGANIZATION_LINE = re.compile(
    r"^(?:Fachbereich|Fachdienst|Abteilung|Referat|Dezernat|Stabsstelle|Sekretariat|Büro|"
    r"Vorzimmer|Amt für|Team|Lehrstuhl|Institute of|Department|Office|Faculty|Chair|"
    r"Research|Referent|Projekt|Leiter|Leiterin|Sachbearbeit|Tel|Fax|Mobil|E-Mail|Mail|www)\b"
    r"|@|https?:|\bwww\.|\d{4,}|\b(?:straße|strasse|str\.|weg|platz|allee|ring|damm)\b",
    re.I,
)

# "ich arbeite bei der Stadt Fröndenberg/Ruhr", "für die Stadt Unna"
ORGANIZATION_IN_TEXT = re.compile(
    r"(?i:\b(?:bei|für|von|seitens)\s+(?:der|dem|den|die)\s+|\()((?i:stadt|gemeinde|kreis|hochschule|"
    r"universität)\s+[\w/\-äöüß]+(?:\s+(?:an der|am)\s+[A-ZÄÖÜ]\w+)?)"
    # "bei der WFG Kreis Unna": capitalised words that contain an organisation word
    # (possessive: "\s+...\s*" split a long run of spaces in every way, quadratically)
    r"|\b(?:bei|beim|für|seitens)\s++(?:der|dem|den|die\s++)?\s*+((?:[A-ZÄÖÜ][\w/\-äöüß.]*\s){0,3}"
    r"(?:Stadt|Gemeinde|Kreis|Hochschule|Universität|Wirtschaftsförderung|Stadtwerke|Kammer|"
    r"Verband|Institut|GmbH|AG)(?:\s[A-ZÄÖÜ][\w/\-äöüß]+){0,2})"
)

# "mit Herrn Dr. Max Muster", "sowie Frau Anna Schulz", "and Mr John Doe"
# "on behalf of Prof. Dr. Anja Beispiel", "im Auftrag unseres Ersten Beigeordneten und
# Stadtkämmerers, Herrn Dr. Max Beispiel": the function may run on up to a comma. After
# "im Auftrag des" only an addressed or titled person: "des Fachdienstes Umwelt" is none.
_SALUTATION = r"(?:Herrn?|Frau|Mr\.?|Mrs\.?|Ms\.?)\s+"
ON_BEHALF_OF = re.compile(
    r"\b(?i:on behalf of|im auftrag von)\s+(?:[^,.;:!?\n]{0,80},\s+)?"
    rf"(?:{_SALUTATION})?(?:{_FUNCTION}\s+)?{_TITLES}({PERSON_NAME})"
    r"|\b(?i:im auftrag (?:unsere|meine|de)[snrm]?)\s+(?:[^,.;:!?\n]{0,80},\s+)?"
    rf"(?:{_SALUTATION}(?:{_FUNCTION}\s+)?{_TITLES}|{_TITLE_ONE}\s*{_TITLES})({PERSON_NAME})"
)
ACCOMPANYING = re.compile(
    rf"\b(?:sowie|und|mit|plus|and|together with)\s+(?:(?:Herrn?|Frau|Mr\.?|Mrs\.?|Ms\.?)\s+)"
    rf"{_TITLES}({PERSON_NAME})"
)
# The sender speaks of taking part personally ("melde mich an", "ich nehme teil", "register me").
FIRST_PERSON = re.compile(
    r"\b(?:mich|uns)\b[^.?!\n]{0,160}?(?:\b(?:an|auf|vor|ein|teil)\b(?=\s*(?:[.,;:!]|$|und\b|sowie\b))"
    r"|\b(?:anmelden|anzumelden|vormerken|eintragen|registrieren|berücksichtigen)\b)"
    r"|\bmich\s+(?:sowie|und)\b"
    r"|\b(?:ich|wir)\b[^.?!\n]{0,120}?\b(?:teilnehmen|teil|dabei|kommen|komme)\b"
    r"|\b(?:komme|kommen|nehme|nehmen)\s+(?:ich|wir)\b|\bund ich\b|\bsowie mich\b|\bich und\b"
    r"|\bregister\s+(?:me|us|myself)\b|\bsign\s+(?:me|us)\s+up\b|\band I\b"
    r"|\b(?:and|plus|with|register)\s+myself\b|\bmyself\s+(?:and|as well|too)\b"
    r"|\bneben mir\b|\bmit mir\b|\bich selbst und\b|\bbesides me\b|\bwith me\b"
    # a list of who goes where: "- ich selbst: Digitale Bürgerbeteiligung"
    r"|\b(?:ich selbst|myself|me)\s*:"
    r"|\bI\b[^.?!\n]{0,60}?\b(?:attend|join|come|participate|take part)\b"
    # "I would like to register for the workshop", not "... register him / Ms Doe"
    r"|\b(?:I|we)\b[^.?!\n]{0,40}?\bregister(?:ing)?\b"
    r"(?=\s*(?:for|to|at|with|together|and|myself|ourselves|[.,;:!]|$))",
    re.I,
)
# A stated number of persons: checked against the names found.
PERSON_COUNT = re.compile(
    r"\bzu\s+(zweit|dritt|viert|fünft|sechst)\b"
    r"|\b(\d{1,2}|zwei|drei|vier|fünf|sechs|sieben|acht|two|three|four|five|six)\s+"
    r"(?:personen|teilnehmende|teilnehmer(?:innen)?|kolleg(?:en|innen)|mitarbeiter(?:innen)?|"
    r"people|persons|participants|colleagues)\b",
    re.I,
)
NUMBER_WORDS = {
    "zweit": 2,
    "dritt": 3,
    "viert": 4,
    "fünft": 5,
    "sechst": 6,
    "zwei": 2,
    "drei": 3,
    "vier": 4,
    "fünf": 5,
    "sechs": 6,
    "sieben": 7,
    "acht": 8,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
}
# A line of a list or table of persons: "- Tim Albers, t.albers@unna.de", "1. Anna Roth".
# The header cells of a table whose cells came out one per line (Outlook's text part).
TABLE_HEADER_CELL = re.compile(
    r"(?i:name|vorname|nachname|bereich|funktion|abteilung|fachbereich|organisation|"
    r"organization|dienststelle|e-?mail|mail|adresse|telefon|position|role|department)"
)
LIST_BULLET = re.compile(r"^\s*(?:[-*•·–]|\d{1,2}[.)])\s+")
LIST_CELL_SPLIT = re.compile(r"\s{2,}|\t|\s*[;|]\s*|\s+[-–]\s+|\s*\(|\)\s*")
# The header line of a forwarded mail that names its author. Runs are possessive and the
# name greedy (its blanks are stripped): a lazy name before "\s*<" re-read a long run of
# spaces at each of its characters.
FORWARDED_FROM = re.compile(
    r"^[^\S\n]*+(?:Von|From)\s*+:\s*+\"?(?P<name>[^<\[\n\"]*+)\"?\s*+[<\[](?:mailto:)?"
    r"(?P<email>[\w.+-]++@[\w-]++(?:\.[\w-]++)+)[>\]]",
    re.I | re.M,
)

# A person sent in someone else's place: too easy to get wrong automatically.
SUBSTITUTE = re.compile(
    r"an meiner stelle|an seiner stelle|an ihrer stelle|stattdessen|statt\s+(?:mir|ihm|ihr|meiner)|"
    r"\b(?:meinen|ihren|seinen)\s+platz\b[^.?!]{0,40}\b(?:übernimm\w*|übernehm\w*|bekomm\w*)|"
    # A bounded word ending: "kolleg\w*" re-read the rest of "kollegkolleg..." at each one.
    r"(?:kolleg\w{0,20}+|colleague)[^.?!]{0,100}\b(?:meinen|my)\s+(?:platz|seat|place)\b|"
    r"\btake\s+(?:over\s+)?my\s+(?:seat|place)\b|"
    r"in vertretung|vertritt mich|instead of|in my place|on my behalf",
    re.I,
)
# A question is acknowledged automatically only when it is about the event.
EVENT_WORDS = re.compile(
    r"veranstaltung|austausch|anmeld|teilnah|teilnehm|platz|plätze|parkpl|westfalenhalle|"
    r"programm|agenda|dezember|december|05\.?12|5\.\s?12|einladung|invitation|event|"
    r"exchange|regist|attend|livestream|saal|smart city|barrierefrei|catering",
    re.I,
)

# "mit ein paar Leuten": a number nobody can seat.
VAGUE_COUNT = re.compile(
    r"\b(?:ein paar|mehreren?|einigen?|a few|several|some)\s+(?:leute|leuten|personen|kolleg\w*|"
    r"mitarbeit\w*|people|colleagues|persons)\b"
    # "mit zwei, eventuell auch drei Personen", "zwei bis drei", "2-3 Personen"
    r"|\b(?:\d|zwei|drei|vier|fünf|two|three|four)\s*(?:,\s*)?(?:bis|oder|or|to|-|–|,)\s*"
    r"(?:(?:eventuell|vielleicht|evtl\.?|maybe|possibly)\s+)?(?:auch\s+)?"
    r"(?:\d|drei|vier|fünf|sechs|three|four|five|six)\s+(?:personen|leute|kolleg\w*|"
    r"teilnehm\w*|people|persons|colleagues)\b",
    re.I,
)

# Sentences about taking part, for names of persons who come ("Neben mir kommen ...").
PARTICIPATION = re.compile(
    r"komm(?:e|en|t)\b|\bdabei\b|\bbegleite|\bteilnehm|\bteil\b|\banmeld|\bjoin|\bcome|\battend",
    re.I,
)

# Sentences in which the sender speaks of not attending personally while registering
# others ("Ich selbst kann leider nicht teilnehmen"): not a cancellation.
SELF_EXCLUSION = re.compile(
    r"(?:\bich selbst\b|\bselbst\s+(?:kann|werde|nehme)\s+ich\b|\bI myself\b)"
    # "ich selbst komme wie geplant" excludes nobody
    r"(?=[^.!?]{0,60}?\b(?:nicht|leider|verhindert|not|cannot|can't|won't|unable)\b)",
    re.I,
)
# Not yet a registration: "bevor ich mich anmelde", "ich überlege", "before I register".
TENTATIVE = re.compile(
    r"\bbevor\b|\bbefore\b|\bif\b|\bthemselves\b|\banschließend\b|\bgesondert\b|\bspäter\b|\blater\b|"
    r"\bbevor\s+ich\b|\büberlege|\binteresse\b|\bfalls\s+ich\b|\bbefore\s+I\b|\bconsidering\b|"
    r"\binterested\b|\bthinking\s+(?:of|about)\b",
    re.I,
)
# Negations that turn "ich nehme teil" around.
NEGATION = re.compile(r"\bnicht\b|\bkein|\bnot\b|n't\b|\bcannot\b|\bunable\b|\bnever\b", re.I)
# Abbreviations whose dot does not end a sentence.
ABBREVIATION_DOT = re.compile(
    r"\b(z|B|u|a|d|h|bzw|ca|Dr|Prof|Ing|Dipl|Nr|Str|St|Tel|ggf|evtl|inkl|vgl|usw|etc|i|A|V|Hr|Fr)\.(?=\s)"
    r"|(?<=\d)\.(?=\s*\d|\s+[A-ZÄÖÜa-zäöü])",
)
# A question sentence that only asks to be registered is not a question for staff.
REGISTRATION_REQUEST_QUESTION = re.compile(
    r"^(?:können|könnten|würden|dürfte|darf)\s+(?:sie|ich)\b[^?]{0,80}"
    r"(?:anmelden|eintragen|vormerken|registrieren|berücksichtigen|aufnehmen)\s*\?$|"
    r"^(?:could|can|would)\s+you\b[^?]{0,60}(?:register|sign)[^?]{0,40}\?$",
    re.I,
)
