"""What a sentence does: the word patterns of the speech acts the classifier tells apart.

Each pattern is matched on one sentence (lower or mixed case, any line breaks already
joined). Every repeat is bounded, so each pattern is linear in the sentence. The
patterns name acts, not events: nothing here knows a title, a date or a venue; those
come from the settings (core/classify/event.py).
"""

from __future__ import annotations

import re

_I = re.I

# --- taking part -------------------------------------------------------------------

# Doing it now: "hiermit melde ich mich an", "ich melde meine Kollegin an", "bitte melden
# Sie mich an", "ich nehme teil", "wir kommen gerne", "please register me", "I'll attend".
REGISTERS = re.compile(
    r"\bmelde(?:n)?\b.{0,200}?\ban\b(?!\s*(?:zu\s+fragen|ob))"
    r"|\b(?:möchte|moechte|möchten|möcht|würde|wuerde|würd|würden|will|wollen|darf|dürfen)\b"
    r".{0,200}?\b(?:anmelden|teilnehmen|dabei sein|vormerken|eintragen|registrieren|"
    r"berücksichtigen)\b"
    r"|\b(?:mich|uns)\b.{0,120}?\b(?:anmelden|anzumelden|vormerken|eintragen)\b"
    r"|\banmelden\s+(?:möchte|moechte|möchten|würde|will)\b"
    r"|\bnehme(?:n)?\b.{0,120}?\bteil\b|\bnimmt\b.{0,120}?\bteil\b"
    r"|\b(?:wird|werden|werde)\b.{0,200}?\b(?:teilnehmen|dabei sein)\b"
    r"|\bmerken\s+sie\b.{0,60}?\bvor\b|\btragen\s+sie\b.{0,80}?\bein\b"
    r"|\b(?:bitte|please)\b.{0,80}?\b(?:anmelden|anzumelden|eintragen|einzutragen|vormerken|"
    r"vorzumerken|registrieren|zu registrieren|berücksichtigen|register|sign)\b"
    r"|\bzur\s+teilnahme\s+(?:an|am)\b.{0,80}?\b(?:an|melde|gemeldet)\b"
    r"|\bhiermit\b.{0,80}?\b(?:anmeldung|teilnahme|an)\b"
    r"|\bverbindlich\b.{0,40}?\ban\b"
    r"|\bregister\s+(?:me|us|my|our|for|myself)\b|\bsign\s+(?:me|us)\s+up\b|\bsign\s+up\b"
    r"|\bcount\s+(?:me|us)\s+in\b|\badd\s+(?:me|us|my|our)\b.{0,60}?\b(?:list|participants)\b"
    r"|\b(?:i|we)(?:'d| would| will|'ll)?\s+(?:like|love|be happy|be glad)?\s*(?:to\s+)?"
    r"(?:attend|join|participate|take part|register)\b"
    r"|\bi\s+am\s+(?:attending|joining)\b|\bwe\s+are\s+(?:attending|joining)\b",
    _I,
)
# Coming along, said plainly: a registration too, unless the sentence tells something else
# about coming ("ich komme etwas später").
COMES = re.compile(
    r"\b(?:ich|wir)\s+(?:komme|kommen|bin|sind)\s+(?:gerne|gern|sehr gerne|dabei)\b"
    r"|\b(?:komme|kommen)\s+(?:ich|wir)\b|\b(?:ich|wir)\s+(?:komme|kommen)\b"
    r"|\b(?:gerne|gern)\s+(?:komme|kommen|dabei)\b"
    r"|\b(?:wird|werden|werde)\b.{0,120}?\bkommen\b"
    r"|\b(?:möchte|möchten|würde|würden|wollen|will)\b.{0,120}?\bkommen\b"
    r"|\b(?:i|we)(?:'d| would| will|'ll)?\s+(?:like|love)?\s*(?:to\s+)?come\b"
    r"|\bi\s+am\s+coming\b|\bwe\s+are\s+coming\b",
    _I,
)
# A bare line that registers: "Anmeldung: Anna Schulz", "Hiermit meine Anmeldung".
REGISTRATION_NOUN = re.compile(
    r"^\s*(?:hiermit\s+)?(?:meine|unsere|die|verbindliche)?\s*(?:anmeldung|registration)\b", _I
)

# Taking part named at all, done or not: "teilzunehmen", "zu kommen", "anzumelden".
PARTICIPATES = re.compile(
    r"\b(?:teilnehm\w{0,4}|teilzunehmen|teilnahme|anmeld\w{0,4}|anzumelden|kommen|komme|"
    r"dabei|attend\w{0,3}|join\w{0,3}|come|participat\w{0,4}|register\w{0,3}|sign\s?up)\b",
    _I,
)
# The verbs of registering itself, beside a mailing-list wish: both are meant.
REGISTERING_VERB = re.compile(r"anmeld|melde|teilnehm|\bteil\b|attend|join|particip|regist", _I)

# --- withdrawing ----------------------------------------------------------------------

CANCELS = re.compile(
    r"\bsage\b.{0,60}?\bab\b|\babsagen\b|\babsage\b|\bmelde\b.{0,60}?\bab\b|\babmelden\b|\babmeldung\b"
    r"|\bstornier|\bzurückziehen|\bzurückzuziehen|\bzurücknehmen|\bstreichen\b|\baustragen\b"
    r"|\b(?:kann|können|könne|werde|werden)\b.{0,60}?\bnicht\b.{0,40}?"
    r"\b(?:teilnehmen|kommen|dabei sein|wahrnehmen)\b"
    r"|\bnicht\s+(?:mehr\s+)?(?:teilnehmen|kommen|dabei sein)\b|\bverhindert\b"
    r"|\bnicht\b.{0,40}?\b(?:teilnehmen|kommen|dabei\s+sein)\s+(?:kann|können|werde|werden)\b"
    r"|\b(?:kann|können)\b.{0,60}?\bnicht\b[\s.!,]*$"
    r"|\bteilnahme\b.{0,40}?\bnicht\s+möglich\b|\bnicht\s+möglich\b.{0,40}?\bteilnahme\b"
    r"|\bmuss\b.{0,20}?\bpassen\b|\bpassen\s+müssen\b|\bschaff(?:e|t|en)\s+es\b.{0,30}?\bnicht\b"
    r"|\bcancel|\bwithdraw|\bcan(?:no|')t\s+(?:attend|make it|come|join)"
    r"|\bunable to (?:attend|come|join)"
    r"|\bno longer (?:attend|able|come)|\bnot be able to (?:attend|come|join|make it)"
    r"|\bwon't be able to\b|\bwill not be able to\b",
    _I,
)

# --- saying thanks ----------------------------------------------------------------------

THANKS = re.compile(
    r"\b(?:vielen|herzlichen|besten|lieben)?\s*dank\b|\bdanke\b|\bthank|\bthanks\b|\bmerci\b"
    r"|\bfreue\s+(?:mich|uns)\b|\bfreuen\s+uns\b|\blooking forward\b|\bsee you\b"
    r"|\b(?:ist|sind|habe|haben)\b.{0,40}?\b(?:notiert|vorgemerkt|eingetragen|weitergegeben|"
    r"weitergeleitet)\b|\b(?:noted|forwarded)\b",
    _I,
)
# What a thank-you is for: our confirmation or information, not an invitation to come.
THANKS_FOR_REPLY = re.compile(
    r"\b(?:bestätigung|rückmeldung|antwort|info|information|nachricht|confirmation|reply|"
    r"quick response|information)\b|\bnotiert\b|\bvorgemerkt\b|\bweitergegeben\b|\bnoted\b",
    _I,
)

# --- telling us something --------------------------------------------------------------

# Facts about how someone takes part: late, early, a badge, food, equipment, a guest.
INFORMS = re.compile(
    r"\bspäter\b|\bverspät|\berst\s+(?:gegen|um|ab)\b|\bfrüher\s+(?:gehen|weg|verlassen)\b"
    r"|\b(?:vorzeitig|früher)\b.{0,40}?\b(?:gehen|verlassen|weg|aufbrechen)\b|\bgehen\s+müssen\b"
    r"|\bnamensschild|\bnamensschilder|\btitel\b|\bvegetar|\bvegan|\ballergi|\bunverträglich"
    r"|\bglutenfrei|\blaktosefrei|\bverpflegung\b.{0,40}?\b(?:esse|bitte|vegetar)"
    r"|\bbringe\b.{0,60}?\bmit\b|\bmitbringen\b|\blaptop\b|\bbeamer\b|\brollstuhl|\bbegleit"
    r"|\bkurze\s+info\b|\bzur\s+info(?:rmation)?\b|\bnur\s+zur\s+info\b"
    r"|\blate\b|\bleave\s+(?:early|at)\b|\bhave to leave\b|\bname badge\b|\bbadge\b"
    r"|\bvegetarian\b|\bdietary\b|\ballerg|\bbring\b.{0,40}?\b(?:laptop|colleague|guest)\b"
    r"|\bjust to let you know\b|\bfor your information\b|\bfyi\b|\bwheelchair\b"
    # how someone travels: "wir kommen mit dem Auto", "I'll come by train"
    r"|\bmit\s+(?:dem|der|einem)\s+(?:auto|pkw|wagen|zug|bahn|bus|rad|fahrrad|e-bike|öpnv)\b"
    r"|\bmit\s+(?:öpnv|bus\s+und\s+bahn)\b|\bby\s+(?:car|train|bus|bike|bicycle)\b",
    _I,
)
# Being registered already, said as a state or told of: no act of registering.
STATE = re.compile(
    r"\b(?:ist|bin|sind|war|waren|wurde|wurden)\b.{0,60}?\b(?:angemeldet|registriert|eingetragen)\b"
    r"|\b(?:habe|hatte|haben|hatten)\b.{0,60}?\b(?:angemeldet|registriert)\b"
    r"|\bbei\s+der\s+anmeldung\b|\banmeldebestätigung\b|\bbereits\s+(?:angemeldet|registriert)\b"
    r"|\b(?:am|are|is|was|have been|has been)\s+(?:already\s+)?registered\b|\bmy registration\b",
    _I,
)

# --- wishes of other kinds ------------------------------------------------------------------

MAILING_LIST = re.compile(
    r"\bverteiler|\bnewsletter|\bmailingliste|\bmailing list|\bmailing-list"
    r"|\b(?:auf dem laufenden|informieren sie mich|informiert\s+werden)\b"
    r"|\bkünftige[nr]?\s+(?:veranstaltungen|termine|einladungen)\b"
    r"|\bweitere[nr]?\s+(?:veranstaltungen|termine|einladungen)\b"
    r"|\bfuture events\b|\bkeep me (?:posted|informed|updated)\b|\binform me\b",
    _I,
)

# --- asking -------------------------------------------------------------------------

# A question without its question mark (phones drop it): opening question words.
QUESTION_START = re.compile(
    r"^(?:gibt es|ist es möglich|kann ich|können wir|muss ich|müssen wir|darf ich|"
    r"is there|are there|do you|does it|can i|can we|could you)\b",
    _I,
)
# Asking for an answer without a question: "Für eine kurze Rückmeldung wäre ich dankbar".
ASKS = re.compile(
    r"\bich habe eine frage\b|\bmeine frage\b|\beine frage\b|\bich würde gerne wissen\b"
    r"|\bbitte\s+(?:um|teilen sie mir)\b.{0,40}?\b(?:mit|auskunft)\b"
    r"|\b(?:auskunft|antwort)\b.{0,40}?\bdankbar\b|\bi would like to know\b"
    r"|\bcould you (?:let me know|tell me)\b",
    _I,
)
# "Bitte um eine kurze Rückmeldung" after a registration asks for the confirmation the bot
# sends anyway: no question for a person.
# A question that only asks to be registered is a registration ("Können Sie mich anmelden?").
ASKS_TO_REGISTER = re.compile(
    r"^(?:können|könnten|würden|dürfte|darf)\s+(?:sie|ich)\b.{0,80}?"
    r"(?:anmelden|eintragen|vormerken|registrieren|berücksichtigen|aufnehmen)\s*\?$"
    r"|^(?:could|can|would)\s+you\b.{0,60}?(?:register|sign)\b.{0,40}\?$",
    _I,
)

# --- what turns an act into something less ----------------------------------------------------

# A condition: the act happens only if something else holds.
CONDITION = re.compile(
    r"\b(?:sofern|falls|wenn|vorausgesetzt|soweit|je nach|ob|sobald)\b"
    # "Dann würden wir uns anmelden": the consequence of an answer still to come
    r"|\bdann\b.{0,30}?\bwürde|\bwürde\w{0,2}\b.{0,40}?\bdann\b"
    r"|\b(?:if|provided|unless|in case|as long as|whether|once)\b",
    _I,
)
# Conditions every registration has, or mere politeness: "falls noch ein Platz frei ist"
# (the bot's answer, seat or waitlist, settles it), "wenn möglich", "if you could",
# "falls nicht, melde ich mich hiermit erneut an" (a fallback, not a condition).
USUAL_CONDITION = re.compile(
    r"\b(?:falls|wenn|sofern|soweit|if|provided)\s+(?:es\s+)?(?:noch\s+)?(?:ein(?:e|en)?\s+)?"
    r"(?:freie[rn]?\s+)?(?:platz|plätze|kapazität|kapazitäten|teilnahmeplatz|seats?|places?|"
    r"spots?)\b"
    r"|\b(?:falls|wenn|sofern|soweit|if)\s+(?:es\s+)?(?:noch\s+)?(?:möglich|machbar|possible)\b"
    r"|\b(?:if|provided)\s+there\s+(?:is|are)\s+(?:still\s+)?(?:a\s+|any\s+)?"
    r"(?:free\s+)?(?:seats?|places?|spots?|room|space)\b(?!\s+(?:in|on|for|to)\b)"
    r"|\b(?:falls|wenn|sofern)\s+noch\s+(?:etwas|was)\s+frei\b"
    r"|\b(?:dankbar|froh|grateful|happy|glad)\b.{0,20}?\b(?:wenn|falls|if)\b"
    r"|\bif\s+you\s+(?:could|would|can)\b|\bwenn\s+sie\b.{0,60}?\b(?:könnten|würden)\b"
    r"|\b(?:falls|wenn|if)\s+(?:nicht|not)\b|\bfalls\s+das\s+nicht\b",
    _I,
)
# Not decided yet: a plan, a consideration, an interest, something before registering.
TENTATIVE = re.compile(
    r"\büberlege|\bplanen\b|\bplane\b|\beventuell\b|\bevtl\b|\bvielleicht\b|\bmöglicherweise\b"
    r"|\bvoraussichtlich\b|\bwahrscheinlich\b|\bggf\b|\bgegebenenfalls\b|\binteresse\b"
    r"|\binteressiert\b|\bbevor\b|\bspäter\s+(?:anmelden|melden)\b|\bnoch\s+nicht\s+sicher\b"
    r"|\bconsider|\bthinking (?:of|about)\b|\bmight\b|\bmaybe\b|\bperhaps\b|\bpossibly\b"
    r"|\bprobably\b|\binterested\b|\bbefore\b|\bnot sure\b",
    _I,
)
# A firm act that a weak hedge ("gerne", "Interesse") does not undo.
FIRM = re.compile(r"\bhiermit\b|\bverbindlich\b|\bhereby\b|\bconfirm\b", _I)
NEGATION = re.compile(r"\bnicht\b|\bkein|\bnot\b|n't\b|\bcannot\b|\bunable\b|\bnever\b|\bno\b", _I)

# --- about an event at all -------------------------------------------------------------------

# A question is acknowledged automatically only when it is about an event: these words,
# or the configured event's own title, date, venue or keywords (core/classify/event.py).
ABOUT_EVENTS = re.compile(
    r"veranstaltung|\btermin|anmeld|teilnah|teilnehm|\bplatz\b|\bplätze\b|\bprogramm|agenda"
    r"|tagesordnung|\bablauf|einladung|\bparken|parkpl|anfahrt|\bwlan\b|\bwifi\b|\bwi-fi\b"
    r"|\bfolien\b|präsentation|vortr[aä]g|barrierefrei|\baufzug|verpflegung|catering"
    r"|mittagessen|\bkosten|kostenfrei|kostenlos|gebühr|bescheinigung|zertifikat|livestream"
    r"|\bonline\b|\bvor ort\b|workshop|tagung|konferenz|\bevent\b|\bregist|\battend|\bagenda\b"
    r"|programme|\bparking\b|\bslides\b|\bvenue\b|\baccessib|\bfee\b|\blunch\b|\bseat",
    _I,
)
