"""Crisis language in a transcript, direct or indirect, as a recognizer writes it. Tuned for recall.

Missing "everyone would be better off without me" is the worst failure this
product can have; showing crisis resources to someone who did not need them is
a small one. So the patterns are broad, and when a phrase is truly ambiguous
("I can't go on like this", "I hate my life") it counts as crisis.

How it works, and why it lives in code rather than YAML (nobody should be able
to switch it off by editing a data file):

1. The text is normalised (`transcript.normalize`): lower case, contractions
   expanded, punctuation gone. It is checked whole and clause by clause (so
   "I can't go on." ends where the speaker ended it), each both as heard and
   with filler words ("just", "like", "um", "really") taken out.
2. Benign figures of speech are masked first: "dead tired", "to die for",
   "end the session", "killed myself laughing", "water gun"... and ordinary
   accidents, told of anyone ("I cut myself shaving", "she hurt herself
   playing tennis", "he burned himself on the grill"). A mask only blanks its
   own words, so "this traffic is killing me and I want to die" is still
   caught by the rest of the sentence.
3. Regex patterns, grouped by category, with word boundaries, optional small
   words and the spellings a recognizer produces ("kill my self", "cell harm",
   "end it al", "im", "dont", "over dose").

Categories: suicidal, self-harm, overdose, unsafe, burden, goodbye, hopeless, and
three that tell of danger without naming it: means (pills, a gun, a rope or a blade
at hand), place (on a bridge, a roof, a ledge, the tracks) and preparing (giving
things away, a plan, a date, affairs in order, looking up how). Safe messaging:
these only detect; nothing here is ever spoken back.

Other people. A caller may be telling us about someone else, and the resources
help the caller too, so third-person risk counts wherever the words are clearly
about risk: "my friend says she wants to kill herself", "he keeps talking about
ending his life", "my daughter has been cutting herself", "he's on the bridge
and wants to jump". Two exceptions, on purpose: an ordinary accident told of
anyone is masked (see 2), and "better off without him/her" is not burden
language (it is the commonest breakup advice there is); only "without me" is.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Sequence

from assistant.speech.nearby import MIN_SIMILARITY, MOST_CANDIDATES, nearby_phrasings, trimmed
from assistant.speech.phonetic import sound_swaps, words_of
from assistant.speech.transcript import normalize, split_clauses


@dataclass(frozen=True)
class CrisisMatch:
    """What fired: the words matched (normalised) and the kind of crisis language they are."""

    phrase: str  # the part of the (normalised) text that matched
    category: str  # one of CATEGORIES


CUE_FILE_CRISIS = "cue-file"  # a crisis phrase a cue file adds (CueMap.crisis; matched in cues.CueMatcher.crisis)
CATEGORIES = (
    "suicidal", "self-harm", "overdose", "unsafe", "burden", "goodbye", "hopeless", "means", "place", "preparing",
    CUE_FILE_CRISIS,
)

# --- building blocks -------------------------------------------------------------------------------

_END = r"(?=\s*$)"  # end of the clause: the speaker stopped there
_ANYMORE = r"(?:anymore|any\s+longer|no\s+more|no\s+longer|much\s+longer)"
_ME = r"(?:myself|meself|me\s+self|mi\s+self|my\s+own\s+self|himself|herself|themselves|themself|yourself)"
_MYSELF = r"(?:myself|meself|me\s+self|mi\s+self|my\s+own\s+self)"
# "kill my shelf", "miself", "mice elf": a recognizer's spellings, only after kill verbs
_ME_HEARD = rf"(?:{_ME}|my\s+shelf|my\s+selfe?|miself|mice\s+elf)"
_MEDS = (
    r"(?:pills?|tablets?|meds|medications?|medicines?|pain\s*killers?|sleeping\s+(?:pills?|tablets?)|"
    r"tylenol|paracetamol|acetaminophen|ibuprofen|advil|aspirin|xanax|valium|ambien|oxy\w*|opioids?|"
    r"insulin|anti\s*depressants?|sleep\s+aids?|benzos?)"
)
_LOTS = (
    r"(?:a\s+bunch|bunch|(?:way\s+)?(?:too|to|two)\s+many|so\s+many|all|a\s+lot|lots|loads|a\s+load|"
    r"a\s+handful|handful|handfuls|a\s+whole\s+bottle|the\s+whole\s+bottle|whole\s+bottle|a\s+bottle|the\s+bottle|"
    r"the\s+rest|every\s+one|a\s+box|the\s+box|a\s+pack|a\s+packet|a\s+few\s+too\s+many|a\s+hundred|hundred|"
    r"ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|"
    r"fifty|sixty|seventy|eighty|ninety|\d{2,})"
)
_GUNS = r"(?:guns?|pistols?|hand\s*guns?|revolvers?|rifles?|shot\s*guns?|firearms?|glock)"
_BLADES = r"(?:razor\s+blades?|razors?|blades?|box\s+cutters?|scalpels?|knife|knives)"
# Within reach, as said and as a recognizer spells it ("the pills are right here", "rite hear").
_AT_HAND = (
    r"(?:(?:right|write|rite|wright)\s+(?:here|hear|there|next\s+to\s+me|beside\s+me|in\s+front\s+of\s+me)|"
    r"in\s+front\s+of\s+me|in\s+my\s+(?:hand|hands|lap|pocket)|next\s+to\s+me|beside\s+me|"
    r"lined\s+up|counted\s+out|laid\s+out|set\s+out|all\s+ready|ready(?=\s*$|\s+(?:now|tonight|to\s+go)))"
)
_PLACES = (
    r"(?:(?:the|a|this|that|my|our)\s+(?:\w+\s+){0,2}?(?:bridge|roof|rooftop|ledge|window\s+ledge|cliff|cliff\s+edge|"
    r"cliffs|"
    r"(?:train\s+|railway\s+|railroad\s+|subway\s+)?tracks|railway\s+line|overpass|motorway\s+bridge|"
    r"balcony\s+(?:railing|rail|edge)|edge(?=\s*$)|edge\s+of\s+(?:the|a|my|this|that)\s+(?:roof|bridge|cliff|"
    r"building|platform|balcony|rooftop|tracks|water)|ledge\s+of\s+(?:the|a|my|this|that)\s+\w+)|"
    r"(?:the\s+)?top\s+of\s+(?:the|a|my|this|that)\s+(?:building|bridge|"
    r"parking\s+garage|car\s+park|multi\s+storey|tower|cliff|roof|stairwell|stairs|dam))"
)
# What follows an ordinary goodbye to someone: where, when, or the leaving itself.
_NOT_A_TRIP = (
    r"(?!\s+(?:at|in|on|before|after|when|as|this|last|yesterday|outside|from|until|till|then|who|because|"
    r"for\s+(?:the|a|now)|and\s+(?:left|went|drove|got|headed|walked)))"
)
# Someone else's burden talk counts when it ends there or names the people it weighs on.
_BURDEN_TO = (
    r"(?=\s*$|\s+(?:to|on|for)\s+(?:everyone|everybody|(?:his|her|their)\s+(?:family|kids|children|parents|friends|"
    r"wife|"
    r"husband|partner|mom|dad)|us|me|them|all\s+of\s+us))"
)
_FAMILY = (
    r"(?:my\s+(?:family|kids|children|son|daughter|mom|mum|mother|dad|father|parents|wife|husband|partner|"
    r"sister|brother|friends|loved\s+ones|boyfriend|girlfriend)|everyone|everybody|you\s+all|all\s+of\s+you|"
    r"the\s+people\s+i\s+love)"
)
_CANT_GO_ON = (
    r"(?:go\s+on|keep\s+going|keep\s+living|go\s+on\s+living|keep\s+doing\s+this|carry\s+on|live|do\s+this|do\s+it|"
    r"do\s+any\s+of\s+this|do\s+life|take\s+it|take\s+this|take\s+the\s+pain|handle\s+it|handle\s+this|"
    r"handle\s+life|cope|bear\s+it|bear\s+this|stand\s+it|stand\s+this|stand\s+being\s+alive|stand\s+myself|"
    r"face\s+(?:another\s+day|tomorrow|life|it)|fight|fight\s+this|keep\s+fighting|pretend|be\s+here|exist|"
    r"feel\s+like\s+this|live\s+like\s+this|deal\s+with\s+(?:it|this|life))"
)

# Another person who may be a danger to the speaker, as the speaker names them.
_ASSAILANT = (
    r"(?:he|she|they|someone|somebody|a\s+man|a\s+guy|this\s+guy|this\s+man|some\s+guy|a\s+stranger|"
    r"my\s+(?:ex\s+)?(?:husband|wife|partner|boyfriend|girlfriend|ex|dad|father|stepdad|stepfather|mom|mum|"
    r"mother|stepmom|stepmother|brother|sister|son|daughter|roommate|flatmate|neighbou?r|uncle|cousin))"
)
_HARM_ME = r"(?:kill|hurt|strangle|choke|stab|shoot|drown|poison|rape|beat)\s+me\b(?!\s+(?:at|in|to)\b)"

# --- ordinary accidents, told of anyone ----------------------------------------------------------------
#
# "I cut myself shaving", "she hurt herself playing tennis", "he burned himself on the grill": an
# injury verb and a reflexive, then what the speaker was doing or what did it. Objects are listed,
# never "on the <anything>", so "I cut myself on the bad days" or "on my arm" is still self-harm.

_HURT_VERBS = (
    r"(?:hurt|hurts|cut|cuts|burned|burnt|burns|burn|injured|injures|bruised|scratched|scraped|grazed|nicked|hit|"
    r"banged|bumped)"
)
_ACTIVITY = (
    r"(?:shaving|cooking|chopping|slicing|peeling|cutting\s+(?!(?:my|me|myself|into|his|her)\b)\w+|"
    r"carving\s+(?:the|a)\s+\w+|running|jogging|climbing|rock\s+climbing|skiing|skating|snowboarding|surfing|"
    r"cycling|biking|riding|playing(?:\s+\w+)?|lifting(?:\s+\w+)?|gardening|working\s+out|hiking|falling|tripping|"
    r"slipping|moving(?:\s+(?:the\s+)?\w+)?|opening(?:\s+(?:a|the)\s+\w+)?|diving|jumping|fixing|repairing|"
    r"building|carrying|dancing|training|tackling|wrestling|boxing|mowing|sawing|drilling|hammering|baking|"
    r"grilling|ironing|sewing|cleaning|washing\s+up|exercising|stretching|sprinting|practi[cs]ing|"
    r"doing\s+(?:the\s+)?(?:dishes|yard\s+work|diy|laundry))"
)
_MISHAP_OBJECTS = (
    r"(?:paper|nail|nails|glass|can|tin|knife|fence|lid|edge|corner|stove|hob|oven|oven\s+door|pan|pot|tray|iron|"
    r"kettle|toaster|grill|barbecue|bbq|bike|stairs|steps?|ladder|ice|table|door|cupboard|bush|rose\s+bush|thorns?|"
    r"branch|rocks?|saw|blender|mandoline|grater|wire|metal|machine|counter|radiator|heater|fire|campfire|"
    r"sidewalk|pavement|curb|kerb|trampoline|swing|slide|coral|shells?|can\s+lid|tin\s+lid|piece\s+of\s+\w+)"
)
_ACCIDENT = (
    r"(?:(?:badly|slightly|a\s+little|again|pretty\s+bad(?:ly)?)\s+)?"
    r"(?:with\s+(?:a|an|the|his|her|my|their)\s+\w+\s+)?"  # "hit himself with the hammer by accident"
    r"(?:(?:while|when|whilst)\s+(?:(?:i|he|she|they|we|you)\s+(?:was\s+|were\s+)?)?"
    rf"(?:{_ACTIVITY}|fell|tripped|slipped|crashed)|{_ACTIVITY}|"
    r"on\s+(?:a|an|the|some|this|that|his|her|their|my|our)\s+(?:sharp\s+|broken\s+|hot\s+|rusty\s+)?"
    rf"{_MISHAP_OBJECTS}|by\s+accident|accidentally|"
    r"at\s+(?:the\s+)?(?:gym|work|practice|soccer|football|training|park|playground|pool|beach|rink|game|match|rugby)|"
    r"in\s+(?:a|the|that|this)\s+(?:crash|fall|accident|game|match|race|tackle|collision)|"
    r"during\s+(?:a\s+|the\s+|that\s+|this\s+)?(?:game|match|practice|training|workout|race))\b"
    # "...on the stove on purpose" is not an accident: the mask stands down.
    r"(?!.*\b(?:on\s+purpose|deliberately|intentionally|to\s+(?:feel|punish|hurt)|because\s+i\s+(?:deserve|wanted|"
    r"needed)))"
)

# --- benign figures of speech, masked before the patterns run --------------------------------------

_BENIGN = [
    re.compile(p)
    for p in (
        r"\bdead\s+(?:tired|end|battery|phone|serious|set|center|centre|last|wrong|silent|quiet|ahead|on|heat|"
        r"weight|beat|bolt|asleep|easy|sure|right|boring|cute|funny|good|simple|broke)\b",
        r"\bdie\s+(?:down|out|off|hard|young|trying)\b",
        r"\b(?:die|dye|dying|dyed)\s+(?:(?:my|your|her|his|the|our|their|it|them|a)\s+)?(?:new\s+)?"
        r"(?:hair|clothes|shirt|shirts|beard|fabric|eyebrows|wool|yarn|jeans|eggs|t\s+shirt|roots|tips|"
        r"blue|red|pink|green|purple|black|blonde|brown)\b",
        r"\bto\s+die\s+for\b",
        r"\b(?:die|died|dying|dead)\s+(?:of|from|with)\s+(?:embarrassment|laughter|laughing|boredom|cuteness|envy|"
        r"jealousy|curiosity|happiness|excitement|anticipation|suspense|hunger|thirst|heat)\b",
        r"\b(?:die|died|dying)\s+laughing\b",
        r"\bdying\s+to\b",
        r"\brather\s+die\s+than\s+(?:go|going|eat|eating|wear|wearing|sit|sitting|watch|watching|be\s+seen|listen|"
        r"work|working|do|doing|sing|singing|dance|dancing|run|running|drive|driving|call|calling|text|texting|"
        r"talk|talking|attend|miss|missing|lose|losing|admit|apologi[sz]e|fly|flying|use|cook|clean)\b",
        r"\b(?:kill|killed|killing)\s+(?:myself\s+)?laughing\b",
        rf"\b(?:shot|shoot|shooting)\s+{_ME}\s+in\s+the\s+foot\b",
        rf"\bcut\s+{_ME}\s+(?:some|a\s+little|a\s+bit\s+of)\s+slack\b",
        rf"\b(?:hurt|hurting|killed|killing)\s+{_ME}\s+laughing\b",
        r"\bkilling\s+(?:it|myself\s+(?:at\s+(?:the\s+gym|work)|working|studying|training|over\s+(?:this|that|the|my)\s+"
        r"(?:project|report|essay|deadline|assignment|exam|exams|thesis|presentation|homework|taxes)))\b",
        r"\bkill(?:ed|ing)?\s+(?:the\s+(?:lights?|engine|music|power|process|app|noise|tab|mood|vibe|motor)|time)\b",
        r"\b(?:end|ending|ended|stop|stopping)\s+(?:the|this|that|our)\s+(?:session|exercise|call|meeting|day|game|"
        r"song|movie|chapter|week|conversation|practice|breathing|recording|stream|lesson|class|timer|episode)\b",
        r"\b(?:end|ending|ended|and)\s+(?:it|things)\s+with\s+(?:him|her|them|my\s+\w+)\b",
        r"\bsuicide\s+(?:squad|doors?|mission|run|runs|pass|sprints?|bid|knot|drills?|burpees|lane|king)\b",
        r"\bhopeless\s+(?:at|with|romantic|romantics|case)\b",
        r"\bover\s*dos\w*\s+on\s+(?:coffee|caffeine|sugar|chocolate|candy|tv|netflix|sun|sunshine|cheese|carbs|"
        r"work|memes|pizza|christmas|cake|cookies|podcasts|screen\s+time|vitamin\s+\w+)\b",
        rf"\baccidentally\s+{_HURT_VERBS}\s+{_ME}",
        rf"\b{_HURT_VERBS}\s+{_ME}\s+{_ACCIDENT}",
        r"\b(?:took|take|taken|taking)\s+all\s+(?:of\s+)?my\s+(?:pills|meds|medication|medicine|vitamins|tablets)\s+"
        r"(?:today|this\s+morning|on\s+time|as\s+prescribed|like\s+(?:the|my)\s+doctor|for\s+the\s+day|for\s+today|"
        r"with\s+breakfast|with\s+dinner)\b",
        r"\bout\s+of\s+this\s+world\b",
        # Waking someone else: "I hope I don't wake up the baby" (but "wake up the next day" is left alone).
        r"\bwake\s+up\s+(?:the\s+(?!next\b|following\b)\w+|my\s+\w+|his|her|their|our|your|him|them|us|you|anyone|"
        r"anybody|everyone|everybody)\b|\bwake\s+(?:the|my|his|her|him|them|us|you|your|our)\s+(?:\w+\s+)?up\b",
        r"\b(?:disappear|vanish)\s+(?:into\s+(?:a|the|my|some)|under|to\s+(?:a|an|the|my|some)|"
        r"for\s+(?:a|the)\s+(?:bit|while|day|week|weekend|few|couple)|"
        r"from\s+(?:this|the|that)\s+(?:party|meeting|room|conversation|chat|group|call|zoom|event|dinner|thread|"
        r"family\s+dinner))\b",
        # Tools and toys called guns, and sayings with guns in them.
        r"\b(?:water|glue|hot\s+glue|nail|heat|staple|spray|squirt|nerf|toy|paint|paintball|massage|caulk|caulking|"
        r"grease|"
        r"radar|speed|bb|cap|foam|bubble|price|tattoo|airsoft|laser|soldering|starting|top)\s+guns?\b",
        r"\b(?:jump|jumped|jumping|jumps)\s+the\s+gun\b|"
        r"\bstick(?:ing|s)?\s+to\s+(?:my|his|her|our|their|your)\s+guns\b|\bson\s+of\s+a\s+gun\b|"
        r"\bgun\s+(?:show|shy|control|laws?|violence|range|club|licen[cs]e|permit|safety\s+course)\b|\bsmoking\s+gun\b|"
        rf"\b{_GUNS}\s+(?:scope|case|bag|strap|sling|rack|cabinet|lock|oil|cleaning\s+kit)\b|"
        rf"\b{_GUNS}\s+for\s+(?:hunting|the\s+range|target\s+practice|deer\s+season|clay\s+shooting)\b|"
        r"\bunder\s+the\s+gun\b|\bbig\s+guns\b|\bguns\s+blazing\b|\bjump\s+rope\b|\blearn(?:ing|ed)?\s+the\s+ropes\b",
    )
]

# --- the patterns ----------------------------------------------------------------------------------

_PATTERNS: list[tuple[str, str]] = [
    # Suicidal: killing oneself, ending one's life, wanting to die, methods.
    ("suicidal", rf"\b(?:kill|kil|kills|killed|killing|killin)\s+{_ME_HEARD}"),
    ("suicidal", rf"\bkill\s+my{_END}"),  # "i want to kill my" with "self" lost
    # ...or misheard as another word ("i want to kill my say"). Wanting to kill one's anything but time or
    # a device is reason enough to offer help: self-harm misheard, or harm to someone close.
    ("suicidal", r"\b(?:want|going|wanted|planning|plan|about|ready|trying)\s+to\s+kill\s+my\s+(?!time\b|phone\b|battery\b)"),
    ("suicidal", rf"\b(?:want|going|wanted|planning|plan|about|ready|trying)\s+to\s+kill{_END}"),
    (  # "his", "her", "their": a caller telling of someone else's risk (see the module docstring)
        "suicidal",
        r"\b(?:end|ending|ended|take|taking|took|taken|end\s+in)\s+(?:my|me|mine|his|her|their)\s+(?:own\s+)?"
        r"li(?:fe|ves)\b",
    ),
    ("suicidal", rf"\b(?:end|ending)\s+{_MYSELF}"),
    # "I'm ending it tonight", "tonight I end it": said of oneself, with nothing after it but when.
    (
        "suicidal",
        r"\b(?:i|am)\s+(?:just\s+)?(?:end|ending)\s+it"
        r"(?=\s*$|\s+(?:now|tonight|today|for\s+good|forever|once\s+and\s+for\s+all|right\s+now)\b)",
    ),
    # "end" heard as "and": "i want to and my life".
    (
        "suicidal",
        r"\b(?:want|wanna|going|gonna|ready|plan|planning|decided|need|about|trying)\s+(?:to\s+)?and\s+my\s+"
        r"(?:own\s+)?life\b",
    ),
    # "off myself", and as a recognizer writes it, "of myself" ("going to of myself" is said no other way).
    (
        "suicidal",
        rf"\b(?:to|gonna|wanna|will|should|might|could)\s+(?:just\s+)?off\s+{_MYSELF}|"
        rf"\b(?:to|gonna|wanna)\s+(?:just\s+)?of\s+{_MYSELF}",
    ),
    ("suicidal", r"\bhad\s+enough\s+of\s+(?:life|living|being\s+alive|this\s+life|existing)\b"),
    (
        "goodbye",
        r"\blast\s+(?:night|day|hours?|week|morning|evening)\s+(?:alive|on\s+(?:this\s+)?earth)\b",
    ),
    # "alright": normalize makes "end it all right now" "end it alright now", and recognizers write it so.
    ("suicidal", r"\b(?:end|ending|ended)\s+it\s+(?:all|al|awl|oll|alll|ol|alright)\b"),
    ("suicidal", r"\b(?:to|just|will|should|could|might|gonna)\s+(?:and|in)\s+it\s+(?:all|al|alright)\b"),
    (
        "suicidal",
        r"\b(?:want\s+to|going\s+to|ready\s+to|need\s+to|have\s+to|decided\s+to|deciding\s+to|plan\s+to|planning\s+to|"
        r"about\s+to|thinking\s+about|think\s+about|thought\s+about|thinking\s+of|should|will|just|might|could)\s+"
        r"(?:just\s+)?(?:end|ending|and)\s+(?:it|everything|things|this\s+life)\b"
        r"(?=\s*$|\s+(?:now|tonight|today|soon|for\s+good|forever|once\s+and\s+for\s+all|already|right\s+now|this\s+time)\b)",
    ),
    (
        "suicidal",
        r"\b(?:suicid\w*|sucid\w*|suiscid\w*|suicyd\w*|suiside\w*|suecide|sooicide|su\s+icide|sui\s+cide|"
        r"sue\s+aside|sue\s+a\s+side|sue\s+side|soo\s+aside)\b",
    ),
    (
        "suicidal",
        r"\b(?:want|wants|wanted|wanting|wish|wishing|ready|prefer|deserve|deserves|like|hope|hoping|rather|"
        r"plan|planning|trying|tried|going\s+to\s+go)\s+(?:to\s+)?(?:just\s+|simply\s+|really\s+|honestly\s+|"
        r"finally\s+|all\s+)?(?:die|dye|di)\b",
    ),
    ("suicidal", r"\blet\s+me\s+(?:just\s+)?die\b"),
    ("suicidal", r"\b(?:hope|hoping|wish|pray|praying)\s+(?:that\s+)?i\s+(?:just\s+)?(?:would\s+|will\s+|could\s+)?die\b"),
    ("suicidal", r"\bkms\b|\bun\s*alive\s+(?:myself|me|my\s+self)\b|\bunaliv\w*"),
    ("suicidal", r"\b(?:want|wish|ready)\s+to\s+be\s+gone\b(?!\s+(?:by|before|for|from|at|in|on|when|until|till))"),
    (
        "suicidal",
        r"\bwish(?:ing|ed)?\s+(?:that\s+)?(?:i|id)\s+(?:\w+\s+){0,3}?(?:dead|die|died|never\s+(?:been\s+)?born|"
        r"not\s+(?:been\s+)?born|not\s+exist|not\s+alive|disappear|gone\s+forever|were\s+gone|was\s+gone|"
        rf"stop\s+existing|not\s+wake\s+up|never\s+wake\s+up|not\s+(?:here|around)\s+{_ANYMORE})\b",
    ),
    ("suicidal", r"\b(?:want|wanted|ready|going|trying|try|deserve)\s+to\s+be\s+dead\b"),
    ("suicidal", r"\b(?:better\s+off|rather\s+be|sooner\s+be|i\s+should\s+be|i\s+ought\s+to\s+be|be\s+better)\s+dead\b"),
    (
        "suicidal",
        r"\bi\s+(?:should|ought\s+to)\s+(?:just\s+)?(?:die|not\s+be\s+(?:alive|here|around)|not\s+exist|"
        r"never\s+have\s+been\s+born|have\s+died)\b",
    ),
    (
        "suicidal",
        r"\b(?:do|does)\s+not\s+want\s+to\s+(?:be\s+alive|exist|be\s+on\s+this\s+(?:earth|planet)|"
        r"be\s+in\s+this\s+world|go\s+on\s+living|keep\s+living|live\s+anymore|live\s+any\s+longer)\b",
    ),
    (
        "suicidal",
        rf"\b(?:do|does)\s+not\s+want\s+to\s+(?:be|stay)\s+(?:here|around){_END}",
    ),
    (
        "suicidal",
        rf"\b(?:do|does)\s+not\s+want\s+to\s+(?:be|stay)\s+(?:here|around)\s+(?:{_ANYMORE}|now|forever|at\s+all|ever\s+again)\b",
    ),
    (
        "suicidal",
        r"\bdo\s+not\s+want\s+to\s+live\b(?!\s+(?:in|with|near|at|on|there|here|somewhere|someplace|together|"
        r"alone|abroad|close|far|downtown|by|next|without\s+(?:a|the)))",
    ),
    ("suicidal", r"\bno\s+longer\s+want\s+to\s+(?:live|be\s+alive|be\s+here|exist)\b"),
    (
        "suicidal",
        rf"\b(?:do|does)\s+not\s+want\s+to\s+wake\s+up(?:\s+(?:tomorrow|again|ever\s+again|anymore|in\s+the\s+morning))?{_END}",
    ),
    ("suicidal", r"\b(?:want|wanted|need)\s+to\s+stop\s+(?:living|existing)\b"),
    ("suicidal", r"\bwant\s+out\s+of\s+(?:this\s+)?life\b"),
    (
        "suicidal",
        r"\b(?:think|thinking|thought|thoughts)\s+(?:about|of)\s+(?:dying|death|ending\s+(?:it|my\s+life|things|"
        r"everything)|not\s+(?:being\s+(?:here|alive|around)|existing|waking\s+up)|killing\s+myself)\b",
    ),
    (
        "suicidal",
        r"\bno\s+(?:reason|point|purpose|will)\s+(?:to|in|for)\s+(?:live|living|life|go\s+on|going\s+on|"
        r"keep\s+(?:going|living)|stay(?:ing)?\s+alive|be(?:ing)?\s+alive|be(?:ing)?\s+here|exist(?:ing)?)\b",
    ),
    ("suicidal", r"\bnothing\s+(?:left\s+)?to\s+live\s+for\b"),
    ("suicidal", r"\b(?:lost|losing|lose)\s+(?:the|my)\s+will\s+to\s+live\b"),
    ("suicidal", r"\b(?:life\s+is\s+|is\s+)?not\s+worth\s+living\b|\blife\s+is\s+not\s+worth\s+it\b"),
    (
        "suicidal",
        rf"\b(?:hang|hanging|hanged|hung|drown|drowning|shoot|shooting|shot|stab|stabbing|poison|poisoning|gas|"
        rf"suffocate|suffocating|strangle|electrocute)\s+{_ME}",
    ),
    ("suicidal", r"\b(?:slit|slitting|cut|cutting|slash|slashing)\s+(?:my|me|his|her)\s+(?:own\s+)?wrists?\b"),
    (
        "suicidal",
        r"\b(?:jump|jumping|jumped|throw\s+myself|throwing\s+myself|threw\s+myself)\s+(?:off|from|in\s+front\s+of)\s+"
        r"(?:a\s+|the\s+|this\s+|that\s+|my\s+)?(?:bridge|roof|rooftop|building|balcony|cliff|ledge|window|tower|"
        r"overpass|train|car|bus|truck|traffic|parking\s+garage)\b",
    ),
    (
        "suicidal",
        r"\b(?:want|wants|wanted|wanting|going|about|ready|planning|plan|plans|need|needs|tempted|decided|deciding|"
        r"trying|try|urge|urges)\s+to\s+(?:just\s+)?jump(?:\s+(?:off|now|tonight|today|right\s+now|again))?(?=\s*$)|"
        r"\bjump(?:ing)?\s+off\s+(?:something|somewhere)\b|"
        r"\b(?:think|thinking|thought|thoughts)\s+(?:about|of)\s+jumping(?=\s*$|\s+(?:off|from|again|tonight))",
    ),
    (
        "suicidal",
        r"\b(?:step|stepping|walk|walking|run|running)\s+(?:in\s+front\s+of|into)\s+(?:a\s+|the\s+)?"
        r"(?:train|car|bus|truck|traffic|oncoming\s+traffic)\b",
    ),
    (
        "suicidal",
        r"\b(?:drive|driving|drove|crash|crashing)\s+(?:my\s+car\s+)?(?:off|into)\s+(?:a\s+|the\s+)?"
        r"(?:cliff|bridge|wall|tree|river|lake|oncoming\s+traffic)\b|\bcrash\s+my\s+car\s+on\s+purpose\b|"
        r"\b(?:want|wanna|going|gonna|about|ready|planning|plan|tempted|thinking\s+about|think\s+about|"
        r"thought\s+about)\s+(?:to\s+)?(?:just\s+)?(?:(?:crash|crashing|wreck|wrecking|drive|driving)\s+"
        r"(?:my\s+car\s+)?off\s+the\s+road|(?:crash|crashing|wreck|wrecking)\s+my\s+car"
        r"(?=\s*$|\s+(?:tonight|now|on\s+purpose)\b))",
    ),
    # Overdose and pills.
    ("overdose", r"\b(?:over\s*dos\w*)\b"),
    ("overdose", r"\b(?:going\s+to|want\s+to|about\s+to|might|i)\s+o\s*d\b"),
    (
        "overdose",
        rf"\b(?:took|take|taking|taken|swallowed|swallow|swallowing|popped|pop|popping|downed|ate|eat|eaten)\s+"
        rf"(?:\w+\s+){{0,2}}?{_LOTS}\s+(?:of\s+)?(?:(?:my|the|those|these|his|her|them|moms|mums|dads)\s+)?"
        rf"(?:\w+\s+)?{_MEDS}",
    ),
    ("overdose", rf"\bwhole\s+bottle\s+of\s+(?:\w+\s+)?{_MEDS}"),
    # "I swallowed a whole bottle of pills" as pocketsphinx heard it: "i swallowed all bottle of pills".
    (
        "overdose",
        rf"\b(?:took|taken|swallowed|downed|finished|emptied)\s+(?:\w+\s+){{0,2}}?bottles?\s+of\s+(?:\w+\s+)?{_MEDS}",
    ),
    (
        "overdose",
        rf"\b(?:saving|saved|stockpiling|stockpiled|hoarding|hoarded|collecting|stashing|stashed)\s+(?:up\s+)?"
        rf"(?:(?:my|some|all\s+my|all\s+the|the|a\s+lot\s+of|enough)\s+)?{_MEDS}|\b{_MEDS}\s+(?:saved|stashed)\s+up\b|"
        rf"\benough\s+{_MEDS}\s+to\b",
    ),
    (
        "overdose",
        rf"\b{_MEDS}\s+(?:and|with)\s+(?:alcohol|vodka|wine|whiskey|booze|beer|drinks?|liquor)\b|"
        rf"\b(?:alcohol|vodka|wine|whiskey|booze|liquor)\s+and\s+(?:\w+\s+){{0,2}}?{_MEDS}",
    ),
    (
        "overdose",
        # "...has pills and says she's going to take them all": "them" needs the pills said first.
        rf"\b{_MEDS}\b.*\b(?:going\s+to|want\s+to|wants\s+to|about\s+to|will|ready\s+to)\s+"
        rf"(?:take|swallow)\s+(?:them|it|those|these)\s+all{_END}|"
        rf"\b{_MEDS}\b.*\b(?:take|swallow)\s+all\s+of\s+(?:them|those|these){_END}",
    ),
    (
        "overdose",
        r"\b(?:swallowed|took|taken)\s+(?:everything|all)\s+(?:in|from)\s+(?:the|my)\s+(?:medicine\s+)?"
        r"(?:cabinet|cupboard|drawer)\b",
    ),
    # Self-harm.
    (
        "self-harm",
        rf"\b(?:hurt|hurts|hurting|harm|harms|harming|harmed|cut|cuts|cutting|burn|burns|burning|burned|burnt|"
        rf"injure|injuring|injured|punish|punishing|starve|starving|bruise|bruising|carve|carving|mutilate|"
        rf"mutilating)\s+{_ME}",
    ),
    (
        "self-harm",
        rf"\b(?:hit|hits|hitting|punch|punches|punching|scratch|scratches|scratching|bite|bites|biting|choke|choking|"
        rf"whip|whipping)\s+{_MYSELF}",
    ),
    ("self-harm", r"\b(?:self|cell|sell|shelf|sel|celf)\s*(?:harm\w*|injur\w*|mutilat\w*)\b"),
    (
        "self-harm",
        r"\b(?:cut|cuts|cutting|slice|slicing|burn|burning|carve|carving|scratch|scratching)\s+(?:my|me)\s+"
        r"(?:arms?|thighs?|legs?|skin|stomach|body|wrists?|hips?|chest|belly|ankles?)\b"
        r"(?!\s+(?:on|while|when|at|shaving|cooking|by\s+accident|accidentally))",
    ),
    (
        "self-harm",
        rf"\b(?:i|am|been|started|start|keep|kept|back\s+to|urge\s+to|urges\s+to|want\s+to|wanted\s+to|need\s+to|"
        rf"going\s+to|tempted\s+to)\s+(?:cut|cutting)(?:\s+(?:again|right\s+now|now|tonight|today|more|a\s+lot|still|"
        rf"every\s+(?:day|night)))*{_END}",
    ),
    (
        "self-harm",
        rf"\bmak(?:e|es|ing)\s+{_ME}\s+bleed\b|"
        r"\b(?:until|till|til)\s+(?:it|i|they|my\s+\w+)\s+(?:bleeds?|bled|bleeding|starts?\s+bleeding)\b",
    ),
    ("self-harm", r"\bcutting\s+again\b"),
    ("self-harm", rf"\b(?:want|going|need|urge|tempted)\s+to\s+heart\s+{_MYSELF}"),  # "hurt" as a recognizer writes it
    ("self-harm", rf"\b(?:going|want|need|urge|urges|tempted|trying\s+not|try\s+not)\s+to\s+(?:hurt|harm){_END}"),
    # Not safe right now.
    (
        "unsafe",
        r"\bi\s+(?:am|feel)\s+not\s+(?:safe|save)\b(?!\s+(?:driving|to\s+drive|walking|at\s+night|on\s+(?:the|these|this|that)\s+"
        r"(?:roads?|ice|bridge|bike|ladder)|in\s+(?:the|this|that|my)\s+(?:car|neighbou?rhood|area|city|building|"
        r"weather|storm)|around\s+(?:dogs|the\s+dog|spiders|heights)))",
    ),
    (
        "unsafe",
        r"\b(?:do\s+not|not)\s+feel(?:ing)?\s+safe\b(?!\s+(?:driving|to\s+drive|walking|at\s+night|eating|flying|"
        r"taking|using|on\s+(?:the|these|this|that)\s+(?:roads?|ice|bridge|bike|ladder)|in\s+(?:the|this|that|my)\s+"
        r"(?:car|neighbou?rhood|area|city|building|weather|storm)|around\s+(?:dogs|the\s+dog|spiders|heights)))",
    ),
    ("unsafe", rf"\bnot\s+safe\s+(?:with|from|around|by)\s+{_MYSELF}"),
    ("unsafe", rf"\bcan\s+not\s+(?:keep|stay)\s+(?:{_MYSELF}\s+)?safe\b|\bkeep(?:ing)?\s+{_MYSELF}\s+safe\b"),
    (
        "unsafe",
        rf"\bdo\s+not\s+trust\s+{_MYSELF}(?=\s*$|\s+(?:right\s+now|tonight|today|alone|anymore|any\s+longer|around|"
        rf"with\s+(?:the|my|these|those|pills|knives|a)|not\s+to|to\s+(?:stay|be|keep)\s+safe))",
    ),
    (
        "unsafe",
        r"\b(?:might|may|will|could|going\s+to|about\s+to|want\s+to|feel\s+like|tempted\s+to|scared\s+i\s+will|"
        r"afraid\s+i\s+will|close\s+to)\s+(?:do|doing)\s+something\s+(?:(?:stupid|drastic|terrible|dangerous|bad|"
        r"permanent|final|irreversible|to\s+myself)\b(?!\s+like\s+(?:text|call|buy|eat|message|email|send|post|quit|"
        r"yell|cry))|(?:dumb|crazy|reckless)(?=\s*$|\s+(?:tonight|right\s+now|now|to\s+myself|again|today))|"
        r"i\s+(?:can\s+not|could\s+not|will\s+not\s+be\s+able\s+to)\s+(?:take\s+back|undo)|"
        r"i\s+will\s+regret(?:\s+forever)?(?=\s*$))",
    ),
    (
        "unsafe",
        r"\b(?:scared|afraid|frightened|terrified|worried)\s+(?:of\s+)?(?:what\s+)?i\s+(?:might|will|would|could|"
        r"am\s+going\s+to)\s+do\b(?=\s*$|\s+(?:to\s+myself|tonight|right\s+now|next|if))",
    ),
    ("unsafe", r"\bi\s+am\s+in\s+(?:real\s+|serious\s+|immediate\s+)?danger\b|\bmy\s+life\s+is\s+in\s+danger\b"),
    ("unsafe", r"\b(?:call|calling)\s+(?:911|nine\s+one\s+one|988|nine\s+eight\s+eight|an\s+ambulance)\b"),
    ("unsafe", r"\b(?:hurt|kill|harm|attack)\s+(?:someone|somebody|people|others)\b"),
    (
        "unsafe",
        rf"\b{_ASSAILANT}\s+(?:is|are|keeps|has\s+been|have\s+been|was|were)\s+"
        # not "hitting me up" (getting in touch), "choking me up", "beating me at chess" or "to it"
        r"(?:(?:hurting|threatening)\s+me\b|(?:hitting|choking)\s+me\b(?!\s+up\b)|beating\s+me\b(?!\s+(?:at|in|to)\b))",
    ),
    ("unsafe", r"\b(?:he|she|they|someone|somebody)\s+(?:is|are)\s+going\s+to\s+hurt\s+me\b"),
    # Danger from another person, told by the one in danger: tried, trying or threatening to kill or hurt them,
    # or feared to; violence done to them; being abused; a break-in. The resources name 911 for immediate danger.
    # Not "he's going to kill me" alone: that is as often "when he sees the car" (a figure of speech); with fear
    # or a threat around it, it counts.
    (
        "unsafe",
        rf"\b{_ASSAILANT}\s+(?:is|are|was|were|keeps|kept|has\s+been|have\s+been)\s+trying\s+to\s+{_HARM_ME}"
        r"(?!\s+with\s+kindness)",
    ),
    (
        "unsafe",
        rf"\b{_ASSAILANT}\s+(?:(?:has|have|had)\s+)?(?:tried|threatened|threatens|keeps\s+threatening|"
        rf"(?:is|are)\s+threatening|swore|swears|(?:is|are)\s+coming(?:\s+(?:over|here|back|home))?)\s+to\s+"
        rf"{_HARM_ME}|"
        rf"\b{_ASSAILANT}\s+(?:said|says|told\s+me|swore|swears)\s+(?:that\s+)?(?:he|she|they)\s+(?:will|would|"
        rf"is\s+going\s+to|are\s+going\s+to|was\s+going\s+to|were\s+going\s+to)\s+{_HARM_ME}",
    ),
    (
        "unsafe",
        rf"\b(?:scared|afraid|frightened|terrified|worried|fear)\s+(?:that\s+)?{_ASSAILANT}\s+(?:is\s+going\s+to|"
        rf"are\s+going\s+to|will|would|might|could|wants\s+to|want\s+to|is\s+coming\s+to)\s+{_HARM_ME}",
    ),
    (
        "unsafe",
        rf"\b{_ASSAILANT}\s+(?:(?:has|have|had)\s+)?(?:just\s+)?(?:choked|strangled|raped|assaulted|stabbed|"
        r"attacked|sexually\s+assaulted)\s+me\b|"
        # "he hit me" where it stops, or with when and how often; not "hit me up", "hit me with the ball"
        rf"\b{_ASSAILANT}\s+(?:hit|hits|punched|punches|kicked|kicks|slapped|slaps|beats|shoved|shoves|pushed)\s+"
        r"me(?=\s*$|\s+(?:again|every|all\s+the\s+time|when|whenever|last\s+night|tonight|today|yesterday|"
        r"so\s+hard|hard|in\s+the\s+(?:face|head|stomach|chest)|and\s+i|until))",
    ),
    (
        "unsafe",
        r"\bi\s+am\s+being\s+(?:abused|attacked|hurt|beaten|stalked|threatened|assaulted)\b"
        r"(?=\s*$|\s+(?:by\s+(?:him|her|them|someone|somebody|my\s+\w+)|right\s+now|again|at\s+home|now))|"
        r"\b(?:he|she|they|my\s+\w+)\s+(?:is|are|has\s+been|have\s+been)\s+abusing\s+me\b",
    ),
    (
        "unsafe",
        # A break-in now: "someone is breaking in", or "broke in" where the speaker stops ("...last year" is a story).
        r"\b(?:someone|somebody|a\s+man|a\s+guy|a\s+stranger|people)\s+(?:(?:is|are)\s+(?:trying\s+to\s+break|"
        r"breaking)|(?:has|have|just)?\s*(?:broken|broke))\s+in(?:to\s+(?:my|the|our)\s+(?:house|home|apartment|"
        r"flat|place|room))?(?=\s*$|\s+(?:right\s+now|now))|"
        r"\bthere\s+is\s+(?:someone|somebody|a\s+man|a\s+stranger)\s+(?:in|inside)\s+(?:my|the|our)\s+"
        r"(?:house|home|apartment|flat|room)(?=\s*$|\s+(?:right\s+now|now))",
    ),
    # Burden and "better off without me".
    (
        "burden",
        r"\bbetter\s+(?:off|of)\s+(?:\w+\s+){0,3}?with\s*out\s+me\b|"
        r"\b(?:better|happier|easier)\s+(?:off\s+)?(?:\w+\s+){0,3}?(?:if\s+i\s+(?:was|were|am|had|did|would|could)?\s*"
        r"(?:not|never|just)?\s*(?:been\s+)?(?:here|around|alive|born|gone|dead|exist|existed|died|disappeared|"
        r"left\s+(?:forever|for\s+good))|(?:when|once)\s+i\s+am\s+(?:gone|dead)|with\s+me\s+(?:gone|dead)|"
        r"not\s+(?:being\s+)?(?:here|alive|around|existing))",
    ),
    ("burden", r"\bbetter\s+with\s*out\s+me\b"),
    (
        "burden",
        rf"\b(?:everyone|everybody|they|my\s+family|the\s+world|my\s+kids|people|you)\s+(?:would|will)\s+be\s+"
        rf"(?:so\s+much\s+|much\s+|so\s+)?better\s+off{_END}",
    ),
    (
        "burden",
        r"\b(?:no\s*body|no\s+one|no\s+1|not\s+(?:a\s+)?(?:single\s+)?(?:one|soul|anyone)|would\s+anyone|"
        r"will\s+anyone|does\s+anyone|would\s+anybody|who\s+would|who\s+will)\s+(?:(?:would|will|even|really|"
        r"actually|ever|else|is\s+going\s+to|going\s+to|at\s+all)\s+){0,3}(?:miss\s+me|"
        r"notice\s+(?:if|when)\s+i|care\s+(?:if|when)\s+i\s+(?:die|died|am\s+gone|was\s+gone|were\s+gone|"
        r"disappear|disappeared|am\s+dead|was\s+dead|were\s+dead|kill|killed|was\s+not\s+here|were\s+not\s+here|"
        r"left|leave|went|live\s+or\s+die)|care\s+whether\s+i\s+live)",
    ),
    ("burden", rf"\b(?:no\s*body|no\s+one)\s+(?:would|will)\s+(?:even\s+)?(?:notice|care|miss\s+me){_END}"),
    (
        "burden",
        r"\b(?:no\s*body|no\s+one)\s+(?:\w+\s+){0,2}?cares?\s+(?:if|whether)\s+i\s+(?:am|was|were)\s+"
        r"(?:alive|here|around|gone|dead)\b",
    ),
    (
        "burden",
        r"\b(?:i\s+am|am|feel\s+like|i\s+feel|being|become|i\s+have\s+become)\s+(?:just\s+|such\s+|only\s+|"
        r"nothing\s+but\s+|so\s+much\s+of\s+|always\s+)?(?:a\s+)?(?:huge\s+|big\s+|total\s+|massive\s+|"
        r"constant\s+|terrible\s+)?burden\b",
    ),
    (
        "burden",
        r"\bburden\s+(?:to|on|for)\s+(?:everyone|everybody|my\s+(?:family|kids|children|parents|mom|mum|dad|friends|"
        r"partner|husband|wife)|them|you|all\s+of\s+you|the\s+people\s+i\s+love|people)\b",
    ),
    (
        "burden",
        r"\b(?:says|said|feels|felt|thinks|thought|believes|told\s+me|keeps\s+saying)\s+(?:that\s+)?(?:he|she|they)\s+"
        r"(?:is|are|was|were|has\s+become|have\s+become)\s+(?:just\s+|such\s+|only\s+|nothing\s+but\s+)?"
        rf"a\s+(?:\w+\s+)?burden{_BURDEN_TO}|"
        rf"\b(?:he|she|they)\s+(?:feels|felt|feel)\s+like\s+(?:such\s+|just\s+)?a\s+(?:\w+\s+)?burden{_BURDEN_TO}",
    ),
    # Goodbye.
    ("goodbye", r"\bthis\s+is\s+(?:my\s+)?(?:goodbye|good\s+bye|farewell|the\s+end\s+for\s+me|my\s+last\s+(?:message|goodbye|words?))\b"),
    ("goodbye", r"\b(?:goodbye|good\s+bye|bye)\s+(?:forever|cruel\s+world|world|for\s+good|everyone\s+forever)\b"),
    ("goodbye", r"\b(?:final|last)\s+goodbyes?\b"),
    (
        "goodbye",
        # ... but not a goodbye at the airport or before a trip ("to my sister at the station").
        rf"\b(?:saying|said|say|said\s+all)\s+(?:my\s+)?goodbyes?(?=\s*$|\s+to\s+(?:{_FAMILY}{_NOT_A_TRIP}|"
        rf"the\s+world|this\s+world|life))",
    ),
    ("goodbye", r"\b(?:suicide|goodbye|farewell)\s+(?:note|letter|message|video)s?\b"),
    (
        "goodbye",
        rf"\b(?:wrote|written|writing|write|left|leaving|leave)\s+(?:a|my|the)\s+(?:last\s+)?(?:note|letter)"
        rf"(?=\s*$|\s+(?:for|to)\s+{_FAMILY})",
    ),
    (
        "goodbye",
        rf"\b(?:wrote|written|writing|write)\s+(?:goodbye\s+|last\s+)?(?:letters|notes)\s+(?:to|for)\s+{_FAMILY}"
        r"(?!\s+(?:in|at|who|on|from|that|attending|about|with|here|there|for|else))",
    ),
    (
        "goodbye",
        rf"\b(?:will\s+not|not\s+going\s+to)\s+be\s+(?:here|around|alive)\s+(?:{_ANYMORE}|for\s+much\s+longer|"
        rf"for\s+long|anymore|by\s+(?:tomorrow|morning|the\s+morning|next\s+week))\b|\bwill\s+not\s+be\s+alive\b",
    ),
    (
        "goodbye",
        r"\blast\s+time\s+(?:you|anyone|anybody|you\s+all|any\s+of\s+you)\s+(?:will\s+)?(?:ever\s+)?"
        r"(?:hear\s+from|see|talk\s+to|hear)\s+me\b",
    ),
    (
        "goodbye",
        rf"\b(?:do\s+not|will\s+not|no\s+need\s+to)\s+(?:have\s+to\s+|need\s+to\s+)?(?:worry|deal)\s+(?:about|with)\s+"
        rf"me\s+(?:{_ANYMORE}|for\s+much\s+longer|ever\s+again|anymore)\b",
    ),
    (
        "goodbye",
        # "after I'm gone" but not "when I'm gone for the weekend".
        r"\b(?:when|after|once)\s+i\s+am\s+dead\b|\b(?:when|after|once)\s+i\s+am\s+gone\b"
        r"(?!\s+(?:on|for|to|in|at|this|next|over|away|from|during|tomorrow|tonight|today|all|the|a|until|till|but|so|"
        r"and\s+(?:back|home)))",
    ),
    ("goodbye", r"\bleave\s+this\s+(?:world|life|earth)\b|\bi\s+will\s+be\s+gone\s+forever\b"),
    ("goodbye", rf"\bi\s+am\s+sorry\s+for\s+everything{_END}"),
    # Hopeless.
    ("hopeless", rf"\bcan\s+not\s+{_CANT_GO_ON}\s+(?:{_ANYMORE}|like\s+this)\b"),
    (
        "hopeless",
        r"\bcan\s+not\s+(?:go\s+on|keep\s+going|go\s+on\s+living|carry\s+on)"
        r"(?=\s*$|\s+(?:living|without|like\s+this|with\s+this\s+pain))",
    ),
    (
        "hopeless",
        r"\bcan\s+not\s+(?:cope|live|keep\s+living|do\s+life|face\s+another\s+day|live\s+with\s+myself)"
        r"(?=\s*$|\s+(?:like\s+this|with\s+this\s+pain))",
    ),
    (
        "hopeless",
        rf"\b(?:do\s+not|no\s+longer)\s+want\s+to\s+(?:go\s+on|keep\s+going|keep\s+living|live|exist|do\s+this|"
        rf"be\s+here|be\s+alive|fight|try)\s+(?:{_ANYMORE})\b",
    ),
    (
        "hopeless",
        r"\bdone\s+(?:with\s+)?(?:life|living|everything|it\s+all|this\s+life|being\s+alive|this\s+world|existing|"
        r"trying)\b(?!\s+(?:on|for|in|at|i\s+needed|we|you|they))",
    ),
    (
        "hopeless",
        r"\b(?:no|what\s+is\s+the|what\s+is\s+even\s+the|do\s+not\s+see\s+the|do\s+not\s+see\s+any|"
        r"there\s+is\s+no|there\s+is\s+not\s+any)\s+point\b"
        rf"(?:\s+(?:{_ANYMORE}|to\s+(?:anything|life|living|any\s+of\s+(?:this|it))|in\s+(?:anything|living|life|"
        r"going\s+on|trying\s+anymore|being\s+alive|being\s+here|any\s+of\s+(?:this|it)|me|it\s+all)|"
        r"of\s+(?:living|life|anything|going\s+on|being\s+alive|being\s+here|any\s+of\s+(?:this|it)|it\s+all|me|trying))"
        r"|(?=\s*$))",
    ),
    (
        "hopeless",
        r"\b(?:feel|feeling|felt|i\s+am|am|so|completely|totally|utterly|life\s+is|everything\s+is|it\s+is\s+all|"
        r"all)\s+(?:so\s+|completely\s+|totally\s+|utterly\s+|just\s+)?hopeless\b",
    ),
    (
        "hopeless",
        rf"\bno\s+hope\s+(?:left|for\s+me|{_ANYMORE})\b|\b(?:lost|losing|given\s+up)\s+(?:all\s+)?hope\b|"
        rf"\bthere\s+is\s+no\s+hope{_END}",
    ),
    (
        "hopeless",
        r"\b(?:tired|sick|exhausted|weary)\s+of\s+(?:living(?!\s+(?:in|with|paycheck|on|at|off|out|under|near|here|"
        r"there|like\s+a|next|alone|by|from|together|so\s+far))|life|being\s+alive|existing|everything|it\s+all|"
        r"being\s+me|this\s+life|waking\s+up)\b",
    ),
    (
        "hopeless",
        r"\b(?:i\s+am|i\s+feel|feel|feeling|am|so|life\s+is|i\s+am\s+so|my\s+life\s+is)\s+(?:so\s+|completely\s+|"
        r"totally\s+|just\s+)?worthless\b|\bwaste\s+of\s+(?:space|air|oxygen|a\s+life|life)\b",
    ),
    ("hopeless", r"\b(?:hate|hating)\s+(?:my\s+life|being\s+alive|existing)\b"),
    ("hopeless", r"\b(?:hate|hating)\s+myself\b(?=\s*$|\s+(?:so|and|i|more|right|every|for\s+existing))"),
    (
        "hopeless",
        r"\bno\s+way\s+out\b(?=\s*$|\s+(?:for\s+me|anymore|of\s+(?:this\s+)?(?:life|pain)))|"
        r"\bno\s+future\s+(?:for\s+me|left)\b|\b(?:do\s+not|can\s+not)\s+see\s+(?:a|any)\s+(?:future|"
        r"way\s+out|way\s+forward|reason\s+to)\b",
    ),
    (
        "hopeless",
        r"\b(?:nothing|it|things|life|this)\s+(?:will|is\s+going\s+to|are\s+going\s+to|is)\s+(?:never|not\s+ever)\s+"
        r"(?:going\s+to\s+)?get\s+better\b|\bnothing\s+(?:will\s+)?ever\s+(?:gets?|be)\s+better\b|"
        r"\bnever\s+going\s+to\s+get\s+better\b",
    ),
    ("hopeless", rf"\bnothing\s+matters\s+(?:{_ANYMORE})\b|\bnothing\s+matters{_END}"),
    (
        "hopeless",
        r"\bwant\s+(?:the\s+pain|it\s+all|everything|all\s+of\s+(?:it|this)|this\s+pain|the\s+hurt)\s+to\s+"
        r"(?:stop|end|go\s+away|be\s+over)\b|\bmake\s+it\s+all\s+(?:stop|end|go\s+away)\b|"
        rf"\bwant\s+it\s+(?:all\s+)?to\s+(?:end|be\s+over){_END}|\bwant\s+it\s+all\s+to\s+be\s+over\b",
    ),
    (
        "hopeless",
        r"\bgiv(?:e|ing|en)\s+up\s+on\s+(?:life|living|everything|myself)\b|\bgave\s+up\s+on\s+(?:life|living|"
        r"everything|myself)\b",
    ),
    (
        "hopeless",
        r"\b(?:want|wanna|wish|wishing|need)\s+(?:to\s+|i\s+could\s+|i\s+can\s+|i\s+would\s+|that\s+i\s+could\s+)?"
        r"(?:just\s+)?(?:disappear|vanish|cease\s+to\s+exist|stop\s+existing|not\s+exist)\b(?!\s+(?:into|under|"
        r"for\s+(?:a|the)\s+(?:bit|while|day|week|weekend|few)|from\s+(?:this|the)\s+(?:party|meeting|room|"
        r"conversation|chat|group)))",
    ),
    (
        "hopeless",
        r"\b(?:sleep|go\s+to\s+sleep)\s+and\s+(?:never|not)\s+wake\s+up\b|"
        r"\b(?:want|wanted|wish|ready|going|need)\s+to\s+(?:just\s+)?(?:go\s+to\s+)?sleep\s+forever\b|"
        r"\bnever\s+wake\s+up\b(?!\s+(?:early|before|on\s+time|in\s+time|until|till|at|when|without|for))|"
        r"\b(?:hope|wish|pray|praying|hoping)\s+(?:that\s+)?i\s+(?:do|did|would|will|could)?\s*(?:just\s+)?"
        r"(?:not|never)\s+wake\s+up\b(?!\s+(?:early|late|before|on\s+time|in\s+time|until|till|at))|"
        r"\bwant\s+to\s+(?:just\s+)?(?:not|never)\s+wake\s+up\b",
    ),
    (
        "hopeless",
        r"\b(?:want|wanna|wish|need|would\s+like)\s+(?:to\s+|i\s+could\s+)?(?:just\s+)?(?:fade\s+(?:away|out)|"
        r"go\s+away\s+(?:forever|for\s+good|and\s+never\s+come\s+back))\b"
        r"(?!\s+(?:for\s+(?:a|the)|to\s+(?:a|the)|from|into|in))|"
        rf"\b(?:want|wanna|wish|need)\s+(?:to\s+|i\s+could\s+)(?:\w+\s+){{1,4}}?and\s+never\s+come\s+back{_END}",
    ),
    (
        "hopeless",
        rf"\b(?:want|wanna|wish|need|would\s+like|wish\s+i\s+could|want\s+to\s+just)\s+(?:to\s+)?(?:just\s+)?not\s+"
        rf"(?:be\s+(?:here|alive|around)|exist|be\s+anymore|be\s+a\s+person)(?=\s*$|\s+(?:{_ANYMORE}|forever|at\s+all|"
        r"now|tonight|right\s+now|ever|anywhere))",
    ),
    (
        "hopeless",
        r"\b(?:would|will|i\s+would|i\s+will|i\s+am|i\s+would\s+be)\s+(?:be\s+)?"
        r"(?:fine|okay|alright|happy|glad|relieved|good)\s+(?:with\s+it\s+)?if\s+i\s+(?:\w+\s+){0,2}?"
        r"(?:did\s+not\s+wake\s+up|never\s+woke\s+up|do\s+not\s+wake\s+up|died|die|was\s+dead|were\s+dead|"
        r"did\s+not\s+exist|never\s+existed|did\s+not\s+make\s+it|never\s+came\s+back|did\s+not\s+come\s+back)\b|"
        r"\b(?:would\s+not|do\s+not|does\s+not|would\s+never)\s+(?:mind|care)\s+if\s+i\s+(?:\w+\s+){0,2}?"
        r"(?:did\s+not\s+wake\s+up|never\s+woke\s+up|do\s+not\s+wake\s+up|died|die|was\s+dead|were\s+dead|"
        r"did\s+not\s+exist|never\s+existed|got\s+hit\s+by\s+a\s+\w+|did\s+not\s+make\s+it)\b"
        r"(?!\s+(?:early|late|before|on\s+time|in\s+time|until|till|at))",
    ),
    (
        "hopeless",
        r"\b(?:do\s+not|would\s+not|does\s+not|no\s+longer)\s+care\s+(?:if|whether)\s+i\s+(?:live|die|am\s+alive|"
        r"am\s+dead|survive|wake\s+up)\b(?!\s+(?:early|late|before|on\s+time|in\s+time|until|till|at))",
    ),
    (
        "hopeless",
        r"\b(?:would|had)\s+(?:much\s+)?rather\s+(?:not\s+(?:be\s+alive|exist|live|be\s+here(?=\s*$|\s+anymore)|"
        r"wake\s+up(?=\s*$|\s+(?:again|tomorrow)))|be\s+(?:dead|gone)|die)\b",
    ),
    (
        "hopeless",
        r"\b(?:do\s+not|does\s+not|no\s+longer)\s+want\s+to\s+(?:go\s+on|go\s+on\s+living|carry\s+on\s+living|"
        r"continue\s+living)(?=\s*$|\s+(?:living|like\s+this|without|with\s+(?:this|life)|anymore))",
    ),
    ("hopeless", r"\b(?:my\s+)?life\s+is\s+(?:over|pointless|meaningless)\b|\beverything\s+is\s+pointless\b"),
    ("hopeless", rf"\bnothing\s+left\s+for\s+me\b|\bnothing\s+left\s+to\s+live\b|\bi\s+have\s+nothing\s+left{_END}"),
    (
        "hopeless",
        r"\b(?:do\s+not|no\s+longer|stopped\s+caring|could\s+not)\s+care\s+(?:about\s+)?what\s+happens\s+to\s+me\b",
    ),
    (
        "hopeless",
        rf"\b(?:feel\s+like|feeling\s+like|want\s+to|ready\s+to|going\s+to|about\s+to)\s+(?:just\s+)?"
        rf"giv(?:e|ing)\s+up(?:{_END}|\s+on\s+(?:everything|life|myself|living)\b)",
    ),
    # Means at hand: pills, a gun, a blade, a rope. Safe messaging: detect, never elaborate.
    (
        "means",
        rf"\b{_MEDS}\s+(?:(?:are|is)\s+)?(?:all\s+)?{_AT_HAND}"
        r"(?!\s+(?:in\s+the\s+(?:\w+\s+)?(?:cabinet|cupboard|drawer)|on\s+the\s+(?:counter|shelf)|"
        r"for\s+(?:you|grandma|grandpa|mom|mum|dad|the\s+\w+)))|"
        rf"\b{_MEDS}\s+(?:are\s+|is\s+)?(?:right\s+)?here{_END}|"
        rf"\b(?:bottle|box|pack|packet|handful|stash)\s+of\s+(?:\w+\s+)?{_MEDS}\s+{_AT_HAND}|"
        rf"\b{_MEDS}\s+(?:all\s+)?(?:over|across|spread\s+out\s+on)\s+(?:the|my)\s+(?:bed|floor|table|desk)\b",
    ),
    (
        "means",
        r"\bi\s+(?:\w+\s+){0,2}?(?:have|have\s+got|got|bought|own|found|took|take|loaded|load|am\s+holding|holding|"
        r"hold|picked\s+up|grabbed|keep|kept|borrowed|brought|took\s+out|got\s+out|cleaned|cleaning)\s+"
        rf"(?:(?:a|an|the|my|this|that|his|her|our|\w+s)\s+)?(?:\w+\s+)?{_GUNS}\b",
    ),
    (
        "means",
        rf"\b(?:the|a|my|his|her|our|\w+s)\s+(?:\w+\s+)?{_GUNS}\s+(?:is|was|sits|are)\s+(?:right\s+)?"
        rf"(?:here|there|in|on|under|next\s+to|beside|loaded|in\s+front\s+of)\b|"
        rf"\bthere\s+is\s+a\s+(?:\w+\s+)?{_GUNS}\s+(?:in|on|under)\s+(?:my|the|our|this)\s+\w+|"
        rf"\b(?:a|the)\s+loaded\s+{_GUNS}|\b(?:the|my|a)\s+{_GUNS}\s+(?:is\s+)?loaded\b|"
        rf"\bi\s+am\s+(?:\w+\s+){{0,3}}?with\s+(?:a|the|my|\w+s)\s+(?:loaded\s+)?{_GUNS}\b|"
        rf"\b{_GUNS}\s+(?:in|on|to|against)\s+my\s+(?:hand|lap|mouth|head|temple|chest)\b",
    ),
    (
        "means",
        rf"\b{_BLADES}\s+(?:(?:is|are)\s+)?{_AT_HAND}(?=\s*$|\s+(?:and|with\s+me|now|tonight|right\s+now|i\s))|"
        r"\bi\s+(?:\w+\s+)?(?:have|have\s+got|got|bought|am\s+holding|holding|found|hid|hidden)\s+"
        r"(?:(?:a|the|some|my|new)\s+)?(?:razor\s+blades?|blades?|box\s+cutters?|scalpels?)"
        r"(?=\s*$|\s+(?:today|tonight|again|this\s+(?:morning|afternoon|evening)|yesterday|right\s+now|"
        r"for\s+myself|and\s+i))",
    ),
    (
        "means",
        # A noose is named with what someone did or does with it, where it is, or at the end of what was said:
        # "the news can be overwhelming" read as "a noose can be overwhelming" is none of these.
        r"\b(?:have|has|had|got|get|getting|bought|buy|buying|tied|tie|tying|made|make|making|found|hung|hang|"
        r"hanging|set\s+up|put\s+up|need|want|looking\s+at|staring\s+at|think\s+about|thinking\s+about|"
        r"thought\s+about|there\s+is|there\s+was|with)\s+(?:(?:a|the|my|this|that|some)\s+)?(?:\w+\s+)?nooses?\b|"
        r"\bnooses?(?=\s*$|\s+(?:(?:is|was)\s+)?(?:ready|here|up|tied|hanging|waiting|for\s+me|again|tonight|now|"
        r"in\s+(?:my|the|our)|on\s+(?:my|the)|around\s+(?:my|your|his|her|the)\s+neck)\b)|"
        r"\b(?:have|got|bought|tied|found|made|hung|set\s+up)\s+(?:a|the|some)\s+rope\b(?=\s*$|\s+(?:ready|"
        r"right\s+here|tied|up|around|for\s+myself|to\s+hang|in\s+my|and\s+i|today|tonight))",
    ),
    (
        "means",
        r"\b(?:have|got)\s+everything\s+(?:i\s+need\s+)?(?:ready|prepared|set\s+up|in\s+place|sorted|laid\s+out)"
        r"(?=\s*$|\s+(?:for\s+tonight\s*$|to\s+do\s+it|for\s+it))|\bhave\s+everything\s+i\s+need\s+to\s+(?:do\s+it|"
        r"end\s+it|go\s+through\s+with\s+it)\b",
    ),
    # At a dangerous place (see _PLACES). Words of intent are not needed: "I'm standing on the roof" is
    # enough when the speaker stops there; "I'm on the roof fixing the dish" goes on, so it is left alone.
    (
        "place",
        r"\b(?:i\s+am|i\s+have\s+been|i\s+went|i\s+drove|i\s+walked|i\s+came|i\s+climbed|i\s+got|i\s+made\s+it|"
        r"he\s+is|she\s+is|they\s+are|my\s+\w+\s+(?:is|went))\s+"
        r"(?:(?:standing|sitting|sat|stood|up|out|right|here|now|still|just|alone|currently|already|back|climbing|"
        r"perched|hanging|lying|laying|walking|pacing)\s+){0,2}"
        rf"(?:on|at|onto|to|up\s+on|up\s+to|out\s+to|out\s+on|by|over|up|on\s+top\s+of\s+(?:the|a|this))\s+{_PLACES}"
        r"(?=\s*$|\s+(?:right\s+now|now|again|tonight|alone|by\s+myself|looking\s+down|thinking|about\s+to|"
        r"and\s+(?:i\s+)?(?:want|wanna|am\s+going|going|will|might|can\s+not|feel\s+like|do\s+not|just\s+want|"
        r"am\s+thinking|thinking|am\s+about|about|am\s+ready|ready|am\s+scared|looking|am\s+looking|says|said|wants)|"
        r"i\s+(?:want|am\s+going|will|might|can\s+not)))",
    ),
    # Preparing: giving things away, a plan, a date, affairs in order, looking up how.
    (
        "preparing",
        r"\b(?:gave|give|giving|given|gives)\s+(?:away|way)\s+(?:all\s+|most\s+|half\s+|a\s+lot\s+)?(?:of\s+)?"
        r"(?:my|all\s+my)\s+(?:things|stuff|belongings|possessions|pets?|cats?|dogs?)\b|"
        r"\b(?:gave|give|giving|given|gives)\s+(?:all\s+|most\s+|half\s+|a\s+lot\s+)?(?:of\s+)?(?:my|all\s+my)\s+"
        r"(?:things|stuff|belongings|possessions|pets?|cats?|dogs?)\s+away\b|"
        r"\b(?:gave|give|giving|given)\s+(?:away\s+)?everything\s+(?:away\s+)?(?:i\s+(?:own|have|had|owned)|away\s*$)",
    ),
    (
        "preparing",
        r"\bi\s+(?:have\s+|had\s+)?(?:got|made|have|came\s+up\s+with|worked\s+out|figured\s+out|decided\s+on|"
        r"written|wrote)\s+(?:a|the|my)\s+plan(?=\s*$|\s+(?:now|already|to\s+(?:die|end|kill|do\s+it|go\s+through|"
        r"take|jump|overdose|hang|finish\s+it)|for\s+(?:how|when|it)\b))",
    ),
    (
        "preparing",
        rf"\b(?:have|got)\s+(?:it|everything)\s+(?:all\s+)?(?:planned|worked|figured|mapped)\s+out{_END}|"
        rf"\bplanned\s+(?:it|everything)\s+(?:all\s+)?out{_END}",
    ),
    (
        "preparing",
        r"\bi\s+(?:\w+\s+)?(?:know|have\s+decided|decided|figured\s+out|worked\s+out|have\s+figured\s+out|"
        r"have\s+worked\s+out|planned)\s+(?:exactly\s+|already\s+)?(?:how|when|where)\s+i\s+"
        r"(?:am\s+going\s+to|will|would|want\s+to|could)\s+do\s+it(?=\s*$|\s+(?:now|tonight|tomorrow))",
    ),
    (
        "preparing",
        r"\bi\s+(?:have\s+)?(?:picked|chosen|set|decided\s+on|circled)\s+(?:a|the|my)\s+(?:date|day|night)"
        r"(?=\s*$|\s+(?:already|now))",
    ),
    (
        "preparing",
        r"\b(?:put|putting|puts|get|getting|gets|got|gotten|set|setting|sort|sorting|sorted)\s+(?:all\s+)?(?:of\s+)?"
        r"my\s+affairs\s+in\s+order\b|\bmy\s+affairs\s+are\s+(?:all\s+)?in\s+order\b",
    ),
    (
        "preparing",
        r"\b(?:looked|looking|look|searched|searching|search|googled|googling|researched|researching|research|read|"
        r"reading)\s+(?:up\s+)?(?:on\s+)?(?:\w+\s+){0,2}?"
        rf"(?:how\s+(?:many|much)\s+(?:of\s+(?:my|the|these|those)\s+)?{_MEDS}|"
        r"(?:painless\s+|quick\s+|easy\s+|easiest\s+|best\s+)?(?:ways|way|methods|how)\s+to\s+(?:die|kill\s+myself|"
        r"end\s+(?:it|my\s+life)|do\s+it|overdose|not\s+wake\s+up|disappear\s+forever)|"
        r"painless\s+ways?(?=\s*$|\s+to\s+(?:go|die|do\s+it|end))|(?:a|the)\s+lethal\s+dose)\b|"
        rf"\bhow\s+many\s+{_MEDS}\s+(?:it\s+)?(?:would|does|will|to)\s+(?:it\s+)?(?:take|kill|be\s+enough)\b|"
        r"\blethal\s+dose\b",
    ),
]
_COMPILED = [(category, re.compile(pattern)) for category, pattern in _PATTERNS]

# Words a speaker puts anywhere ("I just really want to die"); taken out for a second look.
_FILLERS = re.compile(
    r"\b(?:um+|uh+|uhm|er+|erm|hmm+|mm+|like|just|really|literally|actually|honestly|seriously|basically|"
    r"kind\s+of|sort\s+of|you\s+know|i\s+mean|maybe|probably|sometimes|even|truly|totally|genuinely|okay|so)\b"
)
# Words said after a phrase that ends a clause, without a pause a recognizer would mark: "I wish I
# was dead right now", "I can't go on please", "I want to jump stop", "there's no way out help me
# breathe". Taken off one at a time (up to MAX_TRAILING), each shorter text one more look.
_TRAILING = re.compile(
    r"\s+(?:please|now|right\s+now|today|tonight|though|anyway|thanks|thank\s+you|i\s+guess|"
    r"help(?:\s+me(?:\s+\w+){0,3})?|stop|pause|slower)$"
)
MAX_TRAILING = 3
# A recognizer writes no full stops: "I can't go on I'm so tired" is one run of words. A phrase that must
# end its clause also counts when one of these opens the next sentence right after it. Recall first:
# "I don't want to be here I want to go home" then shows resources, which is the safer mistake.
_SENTENCE_OPENERS = frozenset({"i", "i'm", "im", "i've", "i'd", "i'll", "we", "you", "it's", "please"})


# Crisis sentences as people say them. Not the detector (that is the patterns above, and they decide): they
# teach pocketsphinx's language model the word sequences crisis language is made of, so "kill myself" or
# "better off without me" come out as words the detector can see (sphinx.py), and they are what a reading
# that nearly said one is compared with (near_crisis_sentences). Written as the dictionary spells.
CRISIS_PHRASINGS = tuple(
    line.strip()
    for line in """
i want to kill myself
i am going to kill myself
i am going to kill myself tonight
i want to die
i just want to die
i wish i was dead
i wish i were dead
i would be better off dead
i am better off dead
i want to end my life
i am going to end my life
i want to end it all
i am going to end it tonight
i am going to end it all
i keep thinking about ending it
i have been thinking about killing myself
i keep thinking about killing myself
i think about suicide
i am thinking about suicide
i am suicidal
i feel suicidal
i have suicidal thoughts
everyone would be better off without me
everybody would be better off without me
my family would be better off without me
they would be better off without me
the world would be better without me
i do not want to be here anymore
i do not want to be alive anymore
i do not want to live anymore
i do not want to wake up
i wish i could go to sleep and never wake up
i do not want to exist
i can not do this anymore
i can not go on
i can not go on like this
i can not take it anymore
i can not keep going
there is no point in living
there is no reason to live
i have nothing to live for
life is not worth living
nobody would miss me
nobody would care if i was gone
no one would miss me if i was gone
i am a burden
i am just a burden to everyone
i am a burden to my family
i want to disappear forever
i want it all to stop
i just want it all to end
i want to give up on life
i have written goodbye letters
i wrote a goodbye letter
this is goodbye
i have been giving my things away
i gave away all my stuff
i want to hurt myself
i feel like hurting myself
i have been hurting myself
i hurt myself again
i cut myself
i just cut myself
i have been cutting myself
i want to cut myself
i want to cut again
i burned myself on purpose
i took too many pills
i took a bunch of pills
i swallowed a bottle of pills
i swallowed all my pills
i took an overdose
i have taken an overdose
i want to overdose
i have the pills right here
the pills are right here
i have a gun
i have a gun right here
i bought a rope
i am on the bridge
i am standing on the roof
i am on the ledge
i want to jump
i want to jump off the bridge
i am going to jump
i have a plan
i have a plan to kill myself
i picked a date
i am not safe
i do not feel safe
i am not safe at home
someone is hurting me
he is hurting me
she is hurting me
he is going to hurt me
i am scared he is going to hurt me
he hit me again
he is hitting me
i am being abused
someone is breaking in
someone is breaking into my house
i want to hurt someone
i am going to hurt someone
i want to kill him
i am going to hurt him
""".splitlines()
    if line.strip()
)


def detect_crisis(text: str) -> CrisisMatch | None:
    """The first crisis phrase in `text`, or None. Benign figures of speech are masked before matching."""
    for variant in _variants(text):
        masked = _mask(variant)
        for category, pattern in _COMPILED:
            found = pattern.search(masked)
            if found:
                return CrisisMatch(phrase=found.group(0).strip(), category=category)
    return None


# How the crisis sentences are also said: a reading writes "I've been hurting myself", not "I have been".
_SPOKEN = (
    ("i am", "i'm"), ("i have been", "i've been"), ("i have taken", "i've taken"), ("i have written", "i've written"),
    ("do not", "don't"), ("can not", "can't"), ("is not", "isn't"), ("he is", "he's"), ("she is", "she's"),
    ("there is", "there's"), ("i would", "i'd"),
)


def _spoken_forms(sentence: str) -> list[str]:
    contracted = f" {sentence} "
    for full, short in _SPOKEN:
        contracted = contracted.replace(f" {full} ", f" {short} ")
    return list(dict.fromkeys([sentence, contracted.strip()]))


# Every crisis sentence as written and as said: what nearby readings are compared with, and what the second
# reader searches the audio for (detector.StreamDetector, Hypothesis.check_spot).
CRISIS_SENTENCE_FORMS = tuple(form for sentence in CRISIS_PHRASINGS for form in _spoken_forms(sentence))
# Their words: what one misheard word of a reading may be put back as (phonetic.sound_swaps).
_CRISIS_WORDS = tuple(sorted({word for form in CRISIS_SENTENCE_FORMS for word in words_of(form)}))


def near_crisis_sentences(heard: str, min_similarity: float = MIN_SIMILARITY, most: int = MOST_CANDIDATES) -> list[str]:
    """Crisis sentences `heard` nearly said, each put in place of the words it lines up with ("i want to go to
    myself" -> "i want to hurt myself") or merged into it keeping the speaker's own words inside it ("i
    swallowed a whole battle of kills" -> "...a whole bottle of pills"), after `heard` with one word put back
    as a crisis sentence's word that sounds the same ("i swallowed the whole bottle of bills" -> "...of
    pills", which neither of those reaches without losing "the whole"): candidates for the second reader to
    weigh against the audio (nearby.py, phonetic.py, detector.py), not detections. None when `heard` is
    crisis language already."""
    if detect_crisis(heard):
        return []

    def is_crisis(candidate: str) -> bool:
        return detect_crisis(candidate) is not None

    swapped = sound_swaps(heard, _CRISIS_WORDS, is_crisis)
    placed = nearby_phrasings(heard, CRISIS_SENTENCE_FORMS, is_crisis, min_similarity, most, keep_extra_words=True)
    return list(dict.fromkeys(swapped + placed))


def crisis_trims(text: str) -> list[str]:
    """`text` (lower case) with a few words dropped from either end, wherever it is still crisis language
    (nearby.trimmed): in noise the cue model puts words from the background around what was said ("i said i
    someone is hurting me on"), and the second reader finds the whole far less likely than the words said
    alone (detector.py weighs both)."""
    return trimmed(text.lower(), lambda trim: detect_crisis(trim) is not None)


MOST_WIDENING_WORDS = 2  # words a crisis sentence may hold around the words heard, to be offered for them


def crisis_widenings(text: str, trims: Sequence[str] | None = None) -> list[str]:
    """The crisis sentences, as written and as said, that are crisis language and hold `text` (lower case) or
    one of its trims (crisis_trims, or `trims` when the caller has them) whole with at most MOST_WIDENING_WORDS
    words more: the cue model drops a short word at an edge of fast speech ("suicidal" for espeak-ng's "I'm
    suicidal" at 175 words a minute), and the second reader finds the word alone far less likely than the
    sentence it was part of. Candidates for it to weigh, like the trims."""
    heard = [words_of(piece) for piece in [text, *(crisis_trims(text) if trims is None else trims)]]
    widened = []
    for form, words in _crisis_forms_and_words():
        if words == heard[0]:
            continue
        for part in heard:
            extra = len(words) - len(part)
            if 0 < extra <= MOST_WIDENING_WORDS and any(
                    words[first : first + len(part)] == part for first in range(extra + 1)):
                widened.append(form)
                break
    return widened


@functools.cache
def _crisis_forms_and_words() -> tuple[tuple[str, list[str]], ...]:
    """Each crisis sentence form that is crisis language ("i want to kill him" is a sentence the cue model knows,
    not crisis language), with its words: worked out once, on the first widening (12 ms; a widening then takes
    tens of microseconds)."""
    return tuple((form, words_of(form)) for form in CRISIS_SENTENCE_FORMS if detect_crisis(form) is not None)


def _variants(text: str) -> list[str]:
    """The whole text, each clause and each run up to a sentence opener: as heard, without filler words, and
    without a courtesy tail; duplicates dropped."""
    pieces = [normalize(text)] + [normalize(clause) for clause in split_clauses(text)]
    for piece in list(pieces):
        words = piece.split()
        pieces += [" ".join(words[:cut]) for cut in range(2, len(words)) if words[cut] in _SENTENCE_OPENERS]
    seen: list[str] = []
    for piece in pieces:
        shorter = [piece, " ".join(_FILLERS.sub(" ", piece).split())]
        for _ in range(MAX_TRAILING):
            shorter.append(_TRAILING.sub("", shorter[-1]))
        for variant in shorter:
            if variant and variant not in seen:
                seen.append(variant)
    return seen


def _mask(text: str) -> str:
    """Blank out benign figures of speech, keeping word boundaries so the rest still matches."""
    for pattern in _BENIGN:
        text = pattern.sub(" ~ ", text)
    return " ".join(text.split())
