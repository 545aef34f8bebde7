// i18n.js: the interface's words in English and Hindi. t(key, vars) fills
// {name}s; a key missing in Hindi falls back to English. The chosen language
// is a display preference (localStorage), never anything secret.
const EN = {
  'skip': 'Skip to content', 'lang.label': 'Language', 'signout': 'Sign out', 'signout.done': 'Signed out.',
  'signin.title': 'Sign in', 'signin.key': 'API key', 'signin.hint': 'A staff or admin key. It is kept for this browser tab only and forgotten at sign-out or expiry.',
  'signin.go': 'Sign in', 'signin.empty': 'Enter the key first.', 'signin.refused': 'That key was refused: it is not a valid API key.',
  'session.until': 'Signed in until {time}',
  'err.expired': 'Your session has ended; sign in again.', 'err.refused': 'The server no longer accepts this key; sign in again.',
  'err.network': 'The server could not be reached. Check that nudge is running, then try again.',
  'err.status': 'The server answered with status {status}.', 'err.field': 'field', 'err.unavailable': 'The server is busy or its database is unreachable; try again shortly.',
  'nav.today': 'Today', 'nav.messages': 'Messages', 'nav.templates': 'Templates', 'nav.patients': 'Patients', 'nav.numbers': 'Numbers',
  'nav.tickets': 'Tickets', 'nav.broadcasts': 'Broadcasts', 'nav.loyalty': 'Loyalty', 'nav.usage': 'Usage', 'nav.soon': 'not yet',
  'soon.body': '{what} has not landed in this version of nudge yet, so there is nothing to show here.',
  'soon.route': 'This page will work once the server offers {route}.',
  'loading': 'Loading…', 'all': 'All', 'yes': 'yes', 'no': 'no',
  'status.scheduled': 'unconfirmed', 'status.confirmed': 'confirmed', 'status.completed': 'completed', 'status.cancelled': 'cancelled',
  'status.no-show': 'no-show', 'status.rescheduled': 'rescheduled', 'status.pending': 'pending', 'status.sending': 'sending',
  'status.sent': 'sent', 'status.delivered': 'delivered', 'status.read': 'read', 'status.failed': 'failed', 'status.expired': 'expired',
  'status.planned': 'planned', 'status.enqueued': 'queued', 'status.clinic': 'clinic', 'status.built-in': 'built-in',
  'channel.sms': 'SMS', 'channel.whatsapp': 'WhatsApp', 'channel.email': 'Email',
  'kind.confirmation': 'confirmation', 'kind.reminder': 'reminder', 'kind.follow_up': 'follow-up', 'kind.no_show': 'missed visit',
  'kind.medication': 'medication', 'kind.recall': 'recall', 'kind.lab_due': 'lab test', 'kind.follow_up_visit': 'follow-up visit', 'kind.birthday': 'birthday',
  'act.confirm': 'Confirm', 'act.cancel': 'Cancel', 'act.complete': 'Completed', 'act.no-show': 'No-show', 'act.reschedule': 'Reschedule',
  'act.resend': 'Resend', 'act.retry': 'Retry',
  'today.date': 'Day', 'today.refresh': 'Refresh', 'today.zone': 'Times in {zone}. Updates every {every} s.',
  'today.count': '{n} appointments', 'today.none': 'No appointments on this day.', 'today.minutes': '{n} min',
  'today.planned': 'Planned messages ({n})', 'today.noplans': 'Nothing planned.', 'today.sent': 'Messages sent ({n})', 'today.nosent': 'No message yet.',
  'today.cancelplan': 'Cancel this reminder', 'today.plancancelled': 'Reminder cancelled.', 'today.resent': 'Queued again as message #{id}.',
  'today.newtime': 'New time', 'today.pick': 'Choose the new time first.', 'today.done': '{action}: {who}.',
  'col.id': 'Message', 'col.when': 'When', 'col.patient': 'Patient', 'col.channel': 'Channel', 'col.template': 'Template', 'col.status': 'Status',
  'col.attempts': 'Attempts', 'col.error': 'Error', 'col.date': 'Date', 'col.transport': 'Transport', 'col.outcome': 'Outcome',
  'col.provider_id': 'Provider id', 'col.detail': 'Detail', 'col.provider': 'Provider', 'col.applied': 'Applied', 'col.language': 'Language',
  'col.source': 'Source', 'col.sms': 'SMS text', 'col.edit': 'Edit',
  'msg.filters': 'Filter messages', 'msg.count': '{n} of {all} messages', 'msg.detail': 'Message #{id}', 'msg.reason': 'Provider\'s reason',
  'msg.attempts': 'Attempts', 'msg.events': 'Provider events', 'msg.noattempts': 'No attempt yet.', 'msg.noevents': 'No provider event.',
  'msg.retried': 'Message #{id} is due again now.', 'msg.cancelled': 'Message #{id} cancelled.',
  'lang.en': 'English', 'lang.hi': 'Hindi',
  'tpl.preview': 'Preview', 'tpl.draft': 'as typed, not saved', 'tpl.nolang': 'No template in this language.',
  'tpl.segments': '{n} SMS segment(s), {enc}, {units} units', 'tpl.nocost': 'Cost per segment: the API does not give prices yet.',
  'tpl.missing': 'No sample value for: {names}', 'tpl.samples': 'Sample variables', 'tpl.server': 'As nudge renders the saved template',
  'tpl.save': 'Save', 'tpl.saved': 'Template saved.', 'tpl.editing': 'Editing {name} ({lang})', 'tpl.category': 'Category', 'tpl.edit': 'Edit',
  'tpl.sms': 'SMS text', 'tpl.whatsapp': 'WhatsApp text (empty: the SMS text)', 'tpl.subject': 'Email subject', 'tpl.text': 'Email text',
  'tpl.html': 'Email HTML',
  'pat.find': 'Find a patient', 'pat.findhint': 'Name, phone or email', 'pat.found': 'Patients found: {n}', 'pat.phone': 'Phone',
  'pat.email': 'Email', 'pat.channel': 'Preferred channel', 'pat.time': 'Preferred time', 'pat.loyalty': 'Loyalty points',
  'pat.lastvisit': 'Last visit', 'pat.consent': 'Consent', 'pat.nooptouts': 'No opt-outs: every kind of message may be sent.',
  'pat.optedout': 'Opted out of {what}', 'pat.consentsoon': 'Consent records with their source and time come with the consent feature.',
  'pat.visits': 'Visits', 'pat.plans': 'Planned reminders', 'pat.service': 'Service', 'pat.doctor': 'Doctor', 'pat.kind': 'Kind',
  'num.from': 'Computed from the clinic\'s messages and appointments (the last {days} days for the charts).',
  'num.bychannel': 'Messages per day by channel (last {days} days)', 'num.bystatus': 'Messages per day by status (last {days} days)',
  'num.rates': 'Rates', 'num.rate': 'Rate', 'num.value': 'Value', 'num.basis': 'Computed as', 'num.count': 'Count',
  'num.queue': 'Messages by status now', 'num.later': 'Not available yet',
  'num.r.delivery': 'Delivery rate', 'num.r.read': 'Read rate', 'num.r.failure': 'Failure rate', 'num.r.confirmation': 'Confirmation rate',
  'num.r.noshow': 'No-show rate',
  'num.b.delivery': 'delivered or read, of messages sent or failed', 'num.b.read': 'read, of messages delivered',
  'num.b.failure': 'failed, of messages sent or failed', 'num.b.confirmation': 'confirmed, of open appointments',
  'num.b.noshow': 'no-shows, of visits completed or missed',
  'num.soon.usage': 'Usage against the tier quota and the month\'s cost: waits for /v1/usage.',
  'num.soon.replies': 'Reply rate: waits for a route that lists patients\' replies (tickets).',
  'num.soon.workflows': 'Workflow runs succeeded and failed: waits for /v1/stats and the workflows.',
  'chart.table': 'The same numbers as a table', 'chart.seetable': 'the numbers are in the table below', 'csv.download': 'Download {name}.csv',
};
const HI = {
  'skip': 'सामग्री पर जाएँ', 'lang.label': 'भाषा', 'signout': 'साइन आउट', 'signout.done': 'साइन आउट हो गया।',
  'signin.title': 'साइन इन', 'signin.key': 'API कुंजी', 'signin.hint': 'स्टाफ़ या एडमिन कुंजी। यह केवल इस ब्राउज़र टैब में रखी जाती है और साइन आउट या समय समाप्त होने पर हटा दी जाती है।',
  'signin.go': 'साइन इन करें', 'signin.empty': 'पहले कुंजी दर्ज करें।', 'signin.refused': 'यह कुंजी अस्वीकार हुई: यह मान्य API कुंजी नहीं है।',
  'session.until': '{time} तक साइन इन',
  'err.expired': 'आपका सत्र समाप्त हो गया है; फिर से साइन इन करें।', 'err.refused': 'सर्वर अब यह कुंजी स्वीकार नहीं करता; फिर से साइन इन करें।',
  'err.network': 'सर्वर तक नहीं पहुँच सके। देखें कि nudge चल रहा है, फिर दोबारा कोशिश करें।',
  'err.status': 'सर्वर ने स्थिति {status} लौटाई।', 'err.field': 'फ़ील्ड', 'err.unavailable': 'सर्वर व्यस्त है या उसका डेटाबेस उपलब्ध नहीं है; थोड़ी देर बाद कोशिश करें।',
  'nav.today': 'आज', 'nav.messages': 'संदेश', 'nav.templates': 'टेम्पलेट', 'nav.patients': 'मरीज़', 'nav.numbers': 'आँकड़े',
  'nav.tickets': 'टिकट', 'nav.broadcasts': 'प्रसारण', 'nav.loyalty': 'लॉयल्टी', 'nav.usage': 'उपयोग', 'nav.soon': 'अभी नहीं',
  'soon.body': '{what} अभी nudge के इस संस्करण में नहीं आया है, इसलिए यहाँ दिखाने को कुछ नहीं है।',
  'soon.route': 'यह पेज तब काम करेगा जब सर्वर {route} देगा।',
  'loading': 'लोड हो रहा है…', 'all': 'सभी', 'yes': 'हाँ', 'no': 'नहीं',
  'status.scheduled': 'अपुष्ट', 'status.confirmed': 'पुष्ट', 'status.completed': 'पूरा', 'status.cancelled': 'रद्द',
  'status.no-show': 'नहीं आए', 'status.rescheduled': 'समय बदला', 'status.pending': 'बाकी', 'status.sending': 'भेजा जा रहा',
  'status.sent': 'भेजा गया', 'status.delivered': 'पहुँचा', 'status.read': 'पढ़ा गया', 'status.failed': 'विफल', 'status.expired': 'समय बीता',
  'status.planned': 'योजना में', 'status.enqueued': 'कतार में', 'status.clinic': 'क्लिनिक', 'status.built-in': 'अंतर्निहित',
  'channel.sms': 'SMS', 'channel.whatsapp': 'WhatsApp', 'channel.email': 'ईमेल',
  'kind.confirmation': 'पुष्टि', 'kind.reminder': 'रिमाइंडर', 'kind.follow_up': 'फ़ॉलो-अप', 'kind.no_show': 'छूटी मुलाक़ात',
  'kind.medication': 'दवा', 'kind.recall': 'रिकॉल', 'kind.lab_due': 'लैब जाँच', 'kind.follow_up_visit': 'फ़ॉलो-अप मुलाक़ात', 'kind.birthday': 'जन्मदिन',
  'act.confirm': 'पुष्टि करें', 'act.cancel': 'रद्द करें', 'act.complete': 'पूरा हुआ', 'act.no-show': 'नहीं आए', 'act.reschedule': 'समय बदलें',
  'act.resend': 'फिर भेजें', 'act.retry': 'फिर कोशिश करें',
  'today.date': 'दिन', 'today.refresh': 'ताज़ा करें', 'today.zone': 'समय {zone} में। हर {every} सेकंड में अपडेट।',
  'today.count': '{n} अपॉइंटमेंट', 'today.none': 'इस दिन कोई अपॉइंटमेंट नहीं।', 'today.minutes': '{n} मिनट',
  'today.planned': 'योजना में संदेश ({n})', 'today.noplans': 'कुछ योजना में नहीं।', 'today.sent': 'भेजे गए संदेश ({n})', 'today.nosent': 'अभी कोई संदेश नहीं।',
  'today.cancelplan': 'यह रिमाइंडर रद्द करें', 'today.plancancelled': 'रिमाइंडर रद्द हुआ।', 'today.resent': 'संदेश #{id} के रूप में फिर कतार में।',
  'today.newtime': 'नया समय', 'today.pick': 'पहले नया समय चुनें।', 'today.done': '{action}: {who}।',
  'col.id': 'संदेश', 'col.when': 'कब', 'col.patient': 'मरीज़', 'col.channel': 'माध्यम', 'col.template': 'टेम्पलेट', 'col.status': 'स्थिति',
  'col.attempts': 'प्रयास', 'col.error': 'त्रुटि', 'col.date': 'तारीख़', 'col.transport': 'ट्रांसपोर्ट', 'col.outcome': 'परिणाम',
  'col.provider_id': 'प्रदाता आईडी', 'col.detail': 'विवरण', 'col.provider': 'प्रदाता', 'col.applied': 'लागू', 'col.language': 'भाषा',
  'col.source': 'स्रोत', 'col.sms': 'SMS पाठ', 'col.edit': 'बदलें',
  'msg.filters': 'संदेश छाँटें', 'msg.count': '{all} में से {n} संदेश', 'msg.detail': 'संदेश #{id}', 'msg.reason': 'प्रदाता का कारण',
  'msg.attempts': 'प्रयास', 'msg.events': 'प्रदाता की घटनाएँ', 'msg.noattempts': 'अभी कोई प्रयास नहीं।', 'msg.noevents': 'प्रदाता की कोई घटना नहीं।',
  'msg.retried': 'संदेश #{id} अब फिर भेजा जाएगा।', 'msg.cancelled': 'संदेश #{id} रद्द हुआ।',
  'lang.en': 'अंग्रेज़ी', 'lang.hi': 'हिन्दी',
  'tpl.preview': 'पूर्वावलोकन', 'tpl.draft': 'जैसा लिखा, सहेजा नहीं', 'tpl.nolang': 'इस भाषा में टेम्पलेट नहीं है।',
  'tpl.segments': '{n} SMS खंड, {enc}, {units} इकाइयाँ', 'tpl.nocost': 'प्रति खंड लागत: API अभी दाम नहीं देता।',
  'tpl.missing': 'इनके नमूना मान नहीं: {names}', 'tpl.samples': 'नमूना चर', 'tpl.server': 'सहेजा गया टेम्पलेट, जैसा nudge बनाता है',
  'tpl.save': 'सहेजें', 'tpl.saved': 'टेम्पलेट सहेजा गया।', 'tpl.editing': '{name} ({lang}) बदल रहे हैं', 'tpl.category': 'श्रेणी', 'tpl.edit': 'बदलें',
  'tpl.sms': 'SMS पाठ', 'tpl.whatsapp': 'WhatsApp पाठ (खाली: SMS पाठ)', 'tpl.subject': 'ईमेल विषय', 'tpl.text': 'ईमेल पाठ', 'tpl.html': 'ईमेल HTML',
  'pat.find': 'मरीज़ खोजें', 'pat.findhint': 'नाम, फ़ोन या ईमेल', 'pat.found': 'मिले मरीज़: {n}', 'pat.phone': 'फ़ोन',
  'pat.email': 'ईमेल', 'pat.channel': 'पसंदीदा माध्यम', 'pat.time': 'पसंदीदा समय', 'pat.loyalty': 'लॉयल्टी अंक',
  'pat.lastvisit': 'पिछली मुलाक़ात', 'pat.consent': 'सहमति', 'pat.nooptouts': 'कोई ऑप्ट-आउट नहीं: हर तरह का संदेश भेजा जा सकता है।',
  'pat.optedout': '{what} से ऑप्ट-आउट', 'pat.consentsoon': 'स्रोत और समय के साथ सहमति रिकॉर्ड सहमति सुविधा के साथ आएँगे।',
  'pat.visits': 'मुलाक़ातें', 'pat.plans': 'योजना में रिमाइंडर', 'pat.service': 'सेवा', 'pat.doctor': 'डॉक्टर', 'pat.kind': 'प्रकार',
  'num.from': 'क्लिनिक के संदेशों और अपॉइंटमेंट से गणना (चार्ट के लिए पिछले {days} दिन)।',
  'num.bychannel': 'माध्यम के अनुसार प्रतिदिन संदेश (पिछले {days} दिन)', 'num.bystatus': 'स्थिति के अनुसार प्रतिदिन संदेश (पिछले {days} दिन)',
  'num.rates': 'दरें', 'num.rate': 'दर', 'num.value': 'मान', 'num.basis': 'गणना', 'num.count': 'संख्या',
  'num.queue': 'अभी स्थिति के अनुसार संदेश', 'num.later': 'अभी उपलब्ध नहीं',
  'num.r.delivery': 'पहुँच दर', 'num.r.read': 'पढ़ने की दर', 'num.r.failure': 'विफलता दर', 'num.r.confirmation': 'पुष्टि दर', 'num.r.noshow': 'न आने की दर',
  'num.b.delivery': 'भेजे या विफल संदेशों में से पहुँचे या पढ़े गए', 'num.b.read': 'पहुँचे संदेशों में से पढ़े गए',
  'num.b.failure': 'भेजे या विफल संदेशों में से विफल', 'num.b.confirmation': 'खुले अपॉइंटमेंट में से पुष्ट',
  'num.b.noshow': 'पूरी या छूटी मुलाक़ातों में से छूटी',
  'num.soon.usage': 'टियर कोटा के सामने उपयोग और महीने की लागत: /v1/usage की प्रतीक्षा।',
  'num.soon.replies': 'जवाब दर: मरीज़ों के जवाबों की सूची (टिकट) की प्रतीक्षा।',
  'num.soon.workflows': 'सफल और विफल वर्कफ़्लो: /v1/stats और वर्कफ़्लो की प्रतीक्षा।',
  'chart.table': 'यही आँकड़े तालिका में', 'chart.seetable': 'आँकड़े नीचे तालिका में हैं', 'csv.download': '{name}.csv डाउनलोड करें',
};
const DICTS = { en: EN, hi: HI };
let current = (() => { try { return localStorage.getItem('nudge.lang') === 'hi' ? 'hi' : 'en'; } catch { return 'en'; } })();

export function lang() { return current; }
export function t(key, vars) {
  let s = DICTS[current][key];
  if (s === undefined) s = EN[key];
  if (s === undefined) s = key;
  return s.replace(/\{(\w+)\}/g, (all, k) => (vars && vars[k] !== undefined ? String(vars[k]) : all));
}
export function setLang(l) {
  current = DICTS[l] ? l : 'en';
  try { localStorage.setItem('nudge.lang', current); } catch { /* private mode: this page only */ }
  applyLang();
}
// The frame's own words (index.html) in the chosen language.
export function applyLang() {
  document.documentElement.lang = current;
  document.getElementById('skip').textContent = t('skip');
  document.getElementById('lang-label').textContent = t('lang.label');
  document.getElementById('signout').textContent = t('signout');
}
// Keys the interface uses that a dictionary lacks (the test checks none).
export function missingKeys() {
  return Object.keys(EN).filter((k) => HI[k] === undefined);
}
