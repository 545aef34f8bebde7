/*
 * tmpl_seed.c: the built-in templates nudge ships, in English and Hindi.
 * They are what a clinic gets before it writes its own (its versions live in
 * the store and win). Each text uses only the variables the code that sends
 * it supplies, so a built-in can never fail to render for want of one; the
 * table test in tests/test_tmpl.c holds them to that.
 *
 * English SMS stay in plain GSM-7 (no curly quotes or dashes) and within two
 * segments; Hindi needs UCS-2 whatever we do, so it is kept short instead.
 * The HTML is inline-styled because many mail clients drop <style> blocks.
 * Sorted by name then language.
 */
#include "tmpl.h"

#define TMPL_BODY_STYLE                                                                        \
    "margin:0;padding:24px;background:#f4f6f8;color:#1f2933;line-height:1.5;font-size:16px;"
#define TMPL_FONT_EN "font-family:Arial,Helvetica,sans-serif;"
/* Devanagari faces first: Arial has no Devanagari glyphs, and a mail
 * client's own fallback for them is often poor. */
#define TMPL_FONT_HI "font-family:'Noto Sans Devanagari',Mangal,Nirmala UI,Arial,sans-serif;"

#define TMPL_HTML_OPEN(lang, font, title)                                                      \
    "<!DOCTYPE html>\n<html lang=\"" lang "\">\n<head>\n<meta charset=\"utf-8\">\n"             \
    "<title>" title "</title>\n</head>\n<body style=\"" TMPL_BODY_STYLE font "\">\n"            \
    "<div style=\"max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;"          \
    "padding:24px;\">\n"
#define TMPL_HTML_EN(title) TMPL_HTML_OPEN("en", TMPL_FONT_EN, title)
#define TMPL_HTML_HI(title) TMPL_HTML_OPEN("hi", TMPL_FONT_HI, title)
#define TMPL_HTML_CLOSE "</div>\n</body>\n</html>\n"
#define TMPL_P(x) "<p style=\"margin:0 0 16px;\">" x "</p>\n"
#define TMPL_TABLE(rows) "<table style=\"border-collapse:collapse;margin:0 0 16px;\">\n" rows "</table>\n"
#define TMPL_ROW(label, value)                                                                 \
    "<tr><td style=\"padding:4px 16px 4px 0;color:#52606d;\">" label "</td>"                   \
    "<td style=\"padding:4px 0;font-weight:bold;\">" value "</td></tr>\n"
#define TMPL_SIGN(x) "<p style=\"margin:16px 0 0;\">" x "</p>\n"

const tmpl_builtin tmpl_builtins[] = {
    /* ---- appointment_confirmation ---- */
    {
        .name = "appointment_confirmation", .language = "en", .category = "transactional",
        .sms = "Hi {patient_name}, your {service} appointment at {clinic_name} is confirmed "
               "for {date} at {time}. To reschedule, please contact the clinic.",
        .subject = "Appointment confirmed: {service} on {date}",
        .text = "Dear {patient_name},\n\n"
                "Your appointment at {clinic_name} is confirmed.\n\n"
                "Service: {service}\n"
                "Date: {date}\n"
                "Time: {time}\n\n"
                "Please arrive 10 minutes early. If you need to reschedule or cancel, please "
                "contact us as soon as possible so that we can offer the time to another "
                "patient.\n\n"
                "Regards,\n{clinic_name}\n",
        .html = TMPL_HTML_EN("Appointment confirmed: {service} on {date}")
                TMPL_P("Dear {patient_name},")
                TMPL_P("Your appointment at <strong>{clinic_name}</strong> is confirmed.")
                TMPL_TABLE(TMPL_ROW("Service", "{service}") TMPL_ROW("Date", "{date}")
                           TMPL_ROW("Time", "{time}"))
                TMPL_P("Please arrive 10 minutes early. If you need to reschedule or cancel, "
                       "please contact us as soon as possible so that we can offer the time "
                       "to another patient.")
                TMPL_SIGN("Regards,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },
    {
        .name = "appointment_confirmation", .language = "hi", .category = "transactional",
        .sms = "नमस्ते {patient_name} जी, {clinic_name} में {service} के लिए आपका अपॉइंटमेंट "
               "{date} को {time} पर तय हो गया है। समय बदलने के लिए कृपया क्लिनिक से संपर्क करें।",
        .subject = "अपॉइंटमेंट तय: {date} को {service}",
        .text = "प्रिय {patient_name} जी,\n\n"
                "{clinic_name} में आपका अपॉइंटमेंट तय हो गया है।\n\n"
                "सेवा: {service}\n"
                "तारीख: {date}\n"
                "समय: {time}\n\n"
                "कृपया 10 मिनट पहले पहुँचें। अगर आपको समय बदलना हो या अपॉइंटमेंट रद्द करना हो, "
                "तो जल्द से जल्द हमसे संपर्क करें, ताकि यह समय किसी दूसरे मरीज़ को दिया जा सके।\n\n"
                "धन्यवाद,\n{clinic_name}\n",
        .html = TMPL_HTML_HI("अपॉइंटमेंट तय: {date} को {service}")
                TMPL_P("प्रिय {patient_name} जी,")
                TMPL_P("<strong>{clinic_name}</strong> में आपका अपॉइंटमेंट तय हो गया है।")
                TMPL_TABLE(TMPL_ROW("सेवा", "{service}") TMPL_ROW("तारीख", "{date}")
                           TMPL_ROW("समय", "{time}"))
                TMPL_P("कृपया 10 मिनट पहले पहुँचें। अगर आपको समय बदलना हो या अपॉइंटमेंट रद्द "
                       "करना हो, तो जल्द से जल्द हमसे संपर्क करें, ताकि यह समय किसी दूसरे मरीज़ "
                       "को दिया जा सके।")
                TMPL_SIGN("धन्यवाद,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },

    /* ---- appointment_follow_up: after a completed visit ---- */
    {
        .name = "appointment_follow_up", .language = "en", .category = "reminders",
        .sms = "Hi {patient_name}, thank you for visiting {clinic_name} for your {service}. "
               "How are you feeling? If you have any pain or questions, please contact us.",
        .subject = "How are you feeling after your {service}?",
        .text = "Dear {patient_name},\n\n"
                "Thank you for visiting {clinic_name} for your {service}. We hope you are "
                "feeling well.\n\n"
                "If you have any pain, swelling or other concerns, or simply a question about "
                "your recovery, please contact us. We are happy to help.\n\n"
                "Regards,\n{clinic_name}\n",
        .html = TMPL_HTML_EN("How are you feeling after your {service}?")
                TMPL_P("Dear {patient_name},")
                TMPL_P("Thank you for visiting <strong>{clinic_name}</strong> for your "
                       "{service}. We hope you are feeling well.")
                TMPL_P("If you have any pain, swelling or other concerns, or simply a question "
                       "about your recovery, please contact us. We are happy to help.")
                TMPL_SIGN("Regards,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },
    {
        .name = "appointment_follow_up", .language = "hi", .category = "reminders",
        .sms = "नमस्ते {patient_name} जी, {service} के लिए {clinic_name} आने का धन्यवाद। अब "
               "आप कैसा महसूस कर रहे हैं? कोई दर्द या सवाल हो तो कृपया हमसे संपर्क करें।",
        .subject = "{service} के बाद अब आप कैसा महसूस कर रहे हैं?",
        .text = "प्रिय {patient_name} जी,\n\n"
                "{service} के लिए {clinic_name} आने का धन्यवाद। हमें उम्मीद है कि अब आप "
                "ठीक महसूस कर रहे हैं।\n\n"
                "अगर आपको कोई दर्द, सूजन या और कोई परेशानी हो, या इलाज के बाद की देखभाल के "
                "बारे में कोई सवाल हो, तो कृपया हमसे संपर्क करें। हम आपकी मदद के लिए हमेशा "
                "तैयार हैं।\n\n"
                "धन्यवाद,\n{clinic_name}\n",
        .html = TMPL_HTML_HI("{service} के बाद अब आप कैसा महसूस कर रहे हैं?")
                TMPL_P("प्रिय {patient_name} जी,")
                TMPL_P("{service} के लिए <strong>{clinic_name}</strong> आने का धन्यवाद। हमें "
                       "उम्मीद है कि अब आप ठीक महसूस कर रहे हैं।")
                TMPL_P("अगर आपको कोई दर्द, सूजन या और कोई परेशानी हो, या इलाज के बाद की "
                       "देखभाल के बारे में कोई सवाल हो, तो कृपया हमसे संपर्क करें। हम आपकी "
                       "मदद के लिए हमेशा तैयार हैं।")
                TMPL_SIGN("धन्यवाद,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },

    /* ---- appointment_reminder ---- */
    {
        .name = "appointment_reminder", .language = "en", .category = "reminders",
        .sms = "Reminder: Hi {patient_name}, your {service} appointment at {clinic_name} is "
               "on {date} at {time}. Please arrive 10 minutes early. To reschedule, contact "
               "the clinic.",
        .subject = "Reminder: {service} appointment on {date} at {time}",
        .text = "Dear {patient_name},\n\n"
                "This is a reminder of your upcoming appointment at {clinic_name}.\n\n"
                "Service: {service}\n"
                "Date: {date}\n"
                "Time: {time}\n\n"
                "Please arrive 10 minutes early and bring any reports or medicines you are "
                "taking. If you cannot make it, please contact us so that we can find you "
                "another time.\n\n"
                "Regards,\n{clinic_name}\n",
        .html = TMPL_HTML_EN("Reminder: {service} appointment on {date} at {time}")
                TMPL_P("Dear {patient_name},")
                TMPL_P("This is a reminder of your upcoming appointment at "
                       "<strong>{clinic_name}</strong>.")
                TMPL_TABLE(TMPL_ROW("Service", "{service}") TMPL_ROW("Date", "{date}")
                           TMPL_ROW("Time", "{time}"))
                TMPL_P("Please arrive 10 minutes early and bring any reports or medicines you "
                       "are taking. If you cannot make it, please contact us so that we can "
                       "find you another time.")
                TMPL_SIGN("Regards,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },
    {
        .name = "appointment_reminder", .language = "hi", .category = "reminders",
        .sms = "नमस्ते {patient_name} जी, याद दिला दें कि {clinic_name} में {service} के लिए "
               "आपका अपॉइंटमेंट {date} को {time} पर है। कृपया 10 मिनट पहले पहुँचें।",
        .subject = "रिमाइंडर: {date} को {time} पर {service} का अपॉइंटमेंट",
        .text = "प्रिय {patient_name} जी,\n\n"
                "याद दिला दें कि {clinic_name} में आपका अपॉइंटमेंट जल्द ही है।\n\n"
                "सेवा: {service}\n"
                "तारीख: {date}\n"
                "समय: {time}\n\n"
                "कृपया 10 मिनट पहले पहुँचें और अपनी पुरानी रिपोर्ट और चल रही दवाइयाँ साथ "
                "लाएँ। अगर आप नहीं आ पाएँगे, तो कृपया हमसे संपर्क करें, ताकि हम आपके लिए "
                "कोई दूसरा समय तय कर सकें।\n\n"
                "धन्यवाद,\n{clinic_name}\n",
        .html = TMPL_HTML_HI("रिमाइंडर: {date} को {time} पर {service} का अपॉइंटमेंट")
                TMPL_P("प्रिय {patient_name} जी,")
                TMPL_P("याद दिला दें कि <strong>{clinic_name}</strong> में आपका अपॉइंटमेंट "
                       "जल्द ही है।")
                TMPL_TABLE(TMPL_ROW("सेवा", "{service}") TMPL_ROW("तारीख", "{date}")
                           TMPL_ROW("समय", "{time}"))
                TMPL_P("कृपया 10 मिनट पहले पहुँचें और अपनी पुरानी रिपोर्ट और चल रही दवाइयाँ "
                       "साथ लाएँ। अगर आप नहीं आ पाएँगे, तो कृपया हमसे संपर्क करें, ताकि हम "
                       "आपके लिए कोई दूसरा समय तय कर सकें।")
                TMPL_SIGN("धन्यवाद,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },

    /* ---- birthday_wishes ---- */
    {
        .name = "birthday_wishes", .language = "en", .category = "marketing",
        .sms = "Happy birthday, {patient_name}! Wishing you good health and a wonderful year "
               "ahead. - {clinic_name}",
        .subject = "Happy birthday, {patient_name}!",
        .text = "Dear {patient_name},\n\n"
                "Everyone at {clinic_name} wishes you a very happy birthday!\n\n"
                "May the year ahead bring you good health, happiness and many reasons to "
                "smile.\n\n"
                "Warm wishes,\n{clinic_name}\n",
        .html = TMPL_HTML_EN("Happy birthday, {patient_name}!")
                TMPL_P("Dear {patient_name},")
                TMPL_P("Everyone at <strong>{clinic_name}</strong> wishes you a very happy "
                       "birthday!")
                TMPL_P("May the year ahead bring you good health, happiness and many reasons "
                       "to smile.")
                TMPL_SIGN("Warm wishes,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },
    {
        .name = "birthday_wishes", .language = "hi", .category = "marketing",
        .sms = "जन्मदिन की हार्दिक शुभकामनाएँ, {patient_name} जी! आने वाला साल आपके लिए "
               "अच्छी सेहत और ढेर सारी खुशियाँ लाए। - {clinic_name}",
        .subject = "जन्मदिन की हार्दिक शुभकामनाएँ, {patient_name} जी!",
        .text = "प्रिय {patient_name} जी,\n\n"
                "{clinic_name} परिवार की ओर से आपको जन्मदिन की हार्दिक शुभकामनाएँ!\n\n"
                "आने वाला साल आपके लिए अच्छी सेहत, खुशियाँ और मुस्कुराने की ढेर सारी वजहें "
                "लाए।\n\n"
                "शुभकामनाओं सहित,\n{clinic_name}\n",
        .html = TMPL_HTML_HI("जन्मदिन की हार्दिक शुभकामनाएँ, {patient_name} जी!")
                TMPL_P("प्रिय {patient_name} जी,")
                TMPL_P("<strong>{clinic_name}</strong> परिवार की ओर से आपको जन्मदिन की "
                       "हार्दिक शुभकामनाएँ!")
                TMPL_P("आने वाला साल आपके लिए अच्छी सेहत, खुशियाँ और मुस्कुराने की ढेर सारी "
                       "वजहें लाए।")
                TMPL_SIGN("शुभकामनाओं सहित,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },

    /* ---- clinic_notice: a broadcast; not addressed by name ---- */
    {
        .name = "clinic_notice", .language = "en", .category = "broadcasts",
        .sms = "{clinic_name}: {notice}",
        .subject = "Notice from {clinic_name}",
        .text = "Dear patient,\n\n"
                "{notice}\n\n"
                "If you have any questions, please contact us.\n\n"
                "Regards,\n{clinic_name}\n",
        .html = TMPL_HTML_EN("Notice from {clinic_name}")
                TMPL_P("Dear patient,")
                TMPL_P("{notice}")
                TMPL_P("If you have any questions, please contact us.")
                TMPL_SIGN("Regards,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },
    {
        .name = "clinic_notice", .language = "hi", .category = "broadcasts",
        .sms = "{clinic_name}: {notice}",
        .subject = "{clinic_name} की ओर से सूचना",
        .text = "प्रिय मरीज़,\n\n"
                "{notice}\n\n"
                "कोई भी सवाल हो तो कृपया हमसे संपर्क करें।\n\n"
                "धन्यवाद,\n{clinic_name}\n",
        .html = TMPL_HTML_HI("{clinic_name} की ओर से सूचना")
                TMPL_P("प्रिय मरीज़,")
                TMPL_P("{notice}")
                TMPL_P("कोई भी सवाल हो तो कृपया हमसे संपर्क करें।")
                TMPL_SIGN("धन्यवाद,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },

    /* ---- faq_answer: the FAQ answers a ticket (ticket.c) ---- */
    {
        .name = "faq_answer", .language = "en", .category = "transactional",
        .sms = "{patient_name}, {answer} - {clinic_name}",
        .subject = "Your question to {clinic_name}",
        .text = "Dear {patient_name},\n\n{answer}\n\nIf this does not answer your question, "
                "reply and a member of our team will help you.\n\nRegards,\n{clinic_name}\n",
        .html = TMPL_HTML_EN("Your question to {clinic_name}") TMPL_P("Dear {patient_name},")
                TMPL_P("{answer}")
                TMPL_P("If this does not answer your question, reply and a member of our team "
                       "will help you.")
                TMPL_SIGN("Regards,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },
    {
        .name = "faq_answer", .language = "hi", .category = "transactional",
        .sms = "{patient_name} जी, {answer} - {clinic_name}",
        .subject = "{clinic_name} से आपका सवाल",
        .text = "प्रिय {patient_name} जी,\n\n{answer}\n\nअगर इससे आपके सवाल का जवाब नहीं मिला, "
                "तो जवाब भेजें, हमारी टीम आपकी मदद करेगी।\n\nधन्यवाद,\n{clinic_name}\n",
        .html = TMPL_HTML_HI("{clinic_name} से आपका सवाल") TMPL_P("प्रिय {patient_name} जी,")
                TMPL_P("{answer}")
                TMPL_P("अगर इससे आपके सवाल का जवाब नहीं मिला, तो जवाब भेजें, हमारी टीम आपकी मदद "
                       "करेगी।")
                TMPL_SIGN("धन्यवाद,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },

    /* ---- follow_up_reminder: a follow-up visit is due ---- */
    {
        .name = "follow_up_reminder", .language = "en", .category = "reminders",
        .sms = "Hi {patient_name}, your follow-up visit at {clinic_name} is due on {date}. "
               "Please contact us to book a time that suits you.",
        .subject = "Your follow-up visit is due on {date}",
        .text = "Dear {patient_name},\n\n"
                "Your follow-up visit at {clinic_name} is due on {date}.\n\n"
                "Follow-up visits let us check that your treatment is working as it should. "
                "Please contact us to book a time that suits you.\n\n"
                "Regards,\n{clinic_name}\n",
        .html = TMPL_HTML_EN("Your follow-up visit is due on {date}")
                TMPL_P("Dear {patient_name},")
                TMPL_P("Your follow-up visit at <strong>{clinic_name}</strong> is due on "
                       "<strong>{date}</strong>.")
                TMPL_P("Follow-up visits let us check that your treatment is working as it "
                       "should. Please contact us to book a time that suits you.")
                TMPL_SIGN("Regards,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },
    {
        .name = "follow_up_reminder", .language = "hi", .category = "reminders",
        .sms = "नमस्ते {patient_name} जी, {clinic_name} में आपकी फ़ॉलो-अप जाँच {date} को "
               "होनी है। अपनी सुविधा का समय तय करने के लिए कृपया हमसे संपर्क करें।",
        .subject = "आपकी फ़ॉलो-अप जाँच {date} को है",
        .text = "प्रिय {patient_name} जी,\n\n"
                "{clinic_name} में आपकी फ़ॉलो-अप जाँच {date} को होनी है।\n\n"
                "फ़ॉलो-अप जाँच से हम देख पाते हैं कि आपका इलाज ठीक से असर कर रहा है या नहीं। "
                "अपनी सुविधा का समय तय करने के लिए कृपया हमसे संपर्क करें।\n\n"
                "धन्यवाद,\n{clinic_name}\n",
        .html = TMPL_HTML_HI("आपकी फ़ॉलो-अप जाँच {date} को है")
                TMPL_P("प्रिय {patient_name} जी,")
                TMPL_P("<strong>{clinic_name}</strong> में आपकी फ़ॉलो-अप जाँच "
                       "<strong>{date}</strong> को होनी है।")
                TMPL_P("फ़ॉलो-अप जाँच से हम देख पाते हैं कि आपका इलाज ठीक से असर कर रहा है या "
                       "नहीं। अपनी सुविधा का समय तय करने के लिए कृपया हमसे संपर्क करें।")
                TMPL_SIGN("धन्यवाद,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },

    /* ---- health_tip ---- */
    {
        .name = "health_tip", .language = "en", .category = "health_tips",
        .sms = "Hi {patient_name}, a health tip from {clinic_name}: {tip}",
        .subject = "A health tip from {clinic_name}",
        .text = "Dear {patient_name},\n\n"
                "Here is a health tip from {clinic_name}:\n\n"
                "{tip}\n\n"
                "Small habits make a big difference. Stay healthy!\n\n"
                "Regards,\n{clinic_name}\n",
        .html = TMPL_HTML_EN("A health tip from {clinic_name}")
                TMPL_P("Dear {patient_name},")
                TMPL_P("Here is a health tip from <strong>{clinic_name}</strong>:")
                "<p style=\"margin:0 0 16px;padding:12px 16px;background:#e8f4fd;"
                "border-left:4px solid #2b7bb9;\">{tip}</p>\n"
                TMPL_P("Small habits make a big difference. Stay healthy!")
                TMPL_SIGN("Regards,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },
    {
        .name = "health_tip", .language = "hi", .category = "health_tips",
        .sms = "नमस्ते {patient_name} जी, {clinic_name} की ओर से सेहत की सलाह: {tip}",
        .subject = "{clinic_name} की ओर से सेहत की सलाह",
        .text = "प्रिय {patient_name} जी,\n\n"
                "{clinic_name} की ओर से आपके लिए सेहत की एक सलाह:\n\n"
                "{tip}\n\n"
                "छोटी-छोटी आदतों से बड़ा फ़र्क पड़ता है। स्वस्थ रहें!\n\n"
                "धन्यवाद,\n{clinic_name}\n",
        .html = TMPL_HTML_HI("{clinic_name} की ओर से सेहत की सलाह")
                TMPL_P("प्रिय {patient_name} जी,")
                TMPL_P("<strong>{clinic_name}</strong> की ओर से आपके लिए सेहत की एक सलाह:")
                "<p style=\"margin:0 0 16px;padding:12px 16px;background:#e8f4fd;"
                "border-left:4px solid #2b7bb9;\">{tip}</p>\n"
                TMPL_P("छोटी-छोटी आदतों से बड़ा फ़र्क पड़ता है। स्वस्थ रहें!")
                TMPL_SIGN("धन्यवाद,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },

    /* ---- lab_due ---- */
    {
        .name = "lab_due", .language = "en", .category = "reminders",
        .sms = "Hi {patient_name}, your {test_name} test is due on {due_date}. Please visit "
               "{clinic_name} or call us to book a time, and ask us if you need to fast "
               "beforehand.",
        .subject = "Your {test_name} test is due on {due_date}",
        .text = "Dear {patient_name},\n\n"
                "Your {test_name} test is due on {due_date}.\n\n"
                "Please visit {clinic_name} or contact us to book a time. Some tests need you "
                "to fast beforehand, so please ask us how to prepare.\n\n"
                "Regards,\n{clinic_name}\n",
        .html = TMPL_HTML_EN("Your {test_name} test is due on {due_date}")
                TMPL_P("Dear {patient_name},")
                TMPL_P("Your <strong>{test_name}</strong> test is due on "
                       "<strong>{due_date}</strong>.")
                TMPL_P("Please visit {clinic_name} or contact us to book a time. Some tests "
                       "need you to fast beforehand, so please ask us how to prepare.")
                TMPL_SIGN("Regards,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },
    {
        .name = "lab_due", .language = "hi", .category = "reminders",
        .sms = "नमस्ते {patient_name} जी, आपकी जाँच ({test_name}) {due_date} को होनी है। "
               "समय तय करने के लिए {clinic_name} आएँ या फ़ोन करें। खाली पेट आना हो तो हमसे "
               "पूछ लें।",
        .subject = "आपकी जाँच ({test_name}) {due_date} को होनी है",
        .text = "प्रिय {patient_name} जी,\n\n"
                "आपकी जाँच ({test_name}) {due_date} को होनी है।\n\n"
                "समय तय करने के लिए कृपया {clinic_name} आएँ या हमसे संपर्क करें। कुछ जाँचों "
                "के लिए खाली पेट आना होता है, इसलिए तैयारी के बारे में हमसे ज़रूर पूछ लें।\n\n"
                "धन्यवाद,\n{clinic_name}\n",
        .html = TMPL_HTML_HI("आपकी जाँच ({test_name}) {due_date} को होनी है")
                TMPL_P("प्रिय {patient_name} जी,")
                TMPL_P("आपकी जाँच (<strong>{test_name}</strong>) <strong>{due_date}</strong> "
                       "को होनी है।")
                TMPL_P("समय तय करने के लिए कृपया {clinic_name} आएँ या हमसे संपर्क करें। कुछ "
                       "जाँचों के लिए खाली पेट आना होता है, इसलिए तैयारी के बारे में हमसे "
                       "ज़रूर पूछ लें।")
                TMPL_SIGN("धन्यवाद,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },

    /* ---- loyalty_balance: a patient is told their points (loyalty.c) ---- */
    {
        .name = "loyalty_balance", .language = "en", .category = "transactional",
        .sms = "Hi {patient_name}, you have {points} loyalty points at {clinic_name}. Ask us how "
               "to use them at your next visit.",
        .subject = "Your loyalty points at {clinic_name}",
        .text = "Dear {patient_name},\n\nYou have {points} loyalty points at {clinic_name}.\n\n"
                "Ask us at your next visit how to use them.\n\nRegards,\n{clinic_name}\n",
        .html = TMPL_HTML_EN("Your loyalty points at {clinic_name}") TMPL_P("Dear {patient_name},")
                TMPL_P("You have <strong>{points}</strong> loyalty points at "
                       "<strong>{clinic_name}</strong>.")
                TMPL_P("Ask us at your next visit how to use them.")
                TMPL_SIGN("Regards,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },
    {
        .name = "loyalty_balance", .language = "hi", .category = "transactional",
        .sms = "नमस्ते {patient_name} जी, {clinic_name} में आपके {points} लॉयल्टी पॉइंट हैं। "
               "अगली बार आने पर इनके इस्तेमाल के बारे में पूछें।",
        .subject = "{clinic_name} में आपके लॉयल्टी पॉइंट",
        .text = "प्रिय {patient_name} जी,\n\n{clinic_name} में आपके {points} लॉयल्टी पॉइंट हैं।\n\n"
                "अगली बार आने पर इनके इस्तेमाल के बारे में पूछें।\n\nधन्यवाद,\n{clinic_name}\n",
        .html = TMPL_HTML_HI("{clinic_name} में आपके लॉयल्टी पॉइंट") TMPL_P("प्रिय {patient_name} जी,")
                TMPL_P("<strong>{clinic_name}</strong> में आपके <strong>{points}</strong> "
                       "लॉयल्टी पॉइंट हैं।")
                TMPL_P("अगली बार आने पर इनके इस्तेमाल के बारे में पूछें।")
                TMPL_SIGN("धन्यवाद,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },

    /* ---- medication_reminder: no clinic_name; the sender supplies none ---- */
    {
        .name = "medication_reminder", .language = "en", .category = "reminders",
        .sms = "Hi {patient_name}, a reminder to take {medication} ({dosage}) {timing}. "
               "Please do not skip or change doses without asking your doctor.",
        .subject = "Medication reminder: {medication}",
        .text = "Dear {patient_name},\n\n"
                "This is a reminder to take your medicine.\n\n"
                "Medicine: {medication}\n"
                "Dose: {dosage}\n"
                "When: {timing}\n\n"
                "Please do not skip or change doses without asking your doctor. If you have "
                "side effects or are running out, contact your clinic.\n",
        .html = TMPL_HTML_EN("Medication reminder: {medication}")
                TMPL_P("Dear {patient_name},")
                TMPL_P("This is a reminder to take your medicine.")
                TMPL_TABLE(TMPL_ROW("Medicine", "{medication}") TMPL_ROW("Dose", "{dosage}")
                           TMPL_ROW("When", "{timing}"))
                TMPL_P("Please do not skip or change doses without asking your doctor. If you "
                       "have side effects or are running out, contact your clinic.")
                TMPL_HTML_CLOSE,
    },
    {
        .name = "medication_reminder", .language = "hi", .category = "reminders",
        .sms = "नमस्ते {patient_name} जी, {timing} अपनी दवा {medication} ({dosage}) लेना न "
               "भूलें। डॉक्टर से पूछे बिना कोई खुराक न छोड़ें और न बदलें।",
        .subject = "दवा का रिमाइंडर: {medication}",
        .text = "प्रिय {patient_name} जी,\n\n"
                "आपकी दवा लेने का समय याद दिला रहे हैं।\n\n"
                "दवा: {medication}\n"
                "खुराक: {dosage}\n"
                "कब लेनी है: {timing}\n\n"
                "डॉक्टर से पूछे बिना कोई खुराक न छोड़ें और न बदलें। अगर दवा से कोई परेशानी हो "
                "या दवा ख़त्म होने वाली हो, तो अपने क्लिनिक से संपर्क करें।\n",
        .html = TMPL_HTML_HI("दवा का रिमाइंडर: {medication}")
                TMPL_P("प्रिय {patient_name} जी,")
                TMPL_P("आपकी दवा लेने का समय याद दिला रहे हैं।")
                TMPL_TABLE(TMPL_ROW("दवा", "{medication}") TMPL_ROW("खुराक", "{dosage}")
                           TMPL_ROW("कब लेनी है", "{timing}"))
                TMPL_P("डॉक्टर से पूछे बिना कोई खुराक न छोड़ें और न बदलें। अगर दवा से कोई "
                       "परेशानी हो या दवा ख़त्म होने वाली हो, तो अपने क्लिनिक से संपर्क करें।")
                TMPL_HTML_CLOSE,
    },

    /* ---- no_show_follow_up: "we missed you" ---- */
    {
        .name = "no_show_follow_up", .language = "en", .category = "reminders",
        .sms = "Hi {patient_name}, we missed you at {clinic_name} for your {service} "
               "appointment on {date}. Please contact us to book a new time that suits you.",
        .subject = "We missed you on {date}",
        .text = "Dear {patient_name},\n\n"
                "We missed you at {clinic_name} for your {service} appointment on {date}. We "
                "hope everything is all right.\n\n"
                "Your care matters to us. Please contact us to book a new time that suits "
                "you.\n\n"
                "Regards,\n{clinic_name}\n",
        .html = TMPL_HTML_EN("We missed you on {date}")
                TMPL_P("Dear {patient_name},")
                TMPL_P("We missed you at <strong>{clinic_name}</strong> for your {service} "
                       "appointment on {date}. We hope everything is all right.")
                TMPL_P("Your care matters to us. Please contact us to book a new time that "
                       "suits you.")
                TMPL_SIGN("Regards,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },
    {
        .name = "no_show_follow_up", .language = "hi", .category = "reminders",
        .sms = "नमस्ते {patient_name} जी, {date} को {clinic_name} में {service} के "
               "अपॉइंटमेंट पर हम आपसे नहीं मिल पाए। नया समय तय करने के लिए कृपया हमसे "
               "संपर्क करें।",
        .subject = "{date} को हम आपसे नहीं मिल पाए",
        .text = "प्रिय {patient_name} जी,\n\n"
                "{date} को {clinic_name} में {service} के अपॉइंटमेंट पर हम आपसे नहीं मिल "
                "पाए। उम्मीद है कि सब कुशल है।\n\n"
                "आपकी सेहत हमारे लिए ज़रूरी है। अपनी सुविधा के अनुसार नया समय तय करने के लिए "
                "कृपया हमसे संपर्क करें।\n\n"
                "धन्यवाद,\n{clinic_name}\n",
        .html = TMPL_HTML_HI("{date} को हम आपसे नहीं मिल पाए")
                TMPL_P("प्रिय {patient_name} जी,")
                TMPL_P("{date} को <strong>{clinic_name}</strong> में {service} के अपॉइंटमेंट "
                       "पर हम आपसे नहीं मिल पाए। उम्मीद है कि सब कुशल है।")
                TMPL_P("आपकी सेहत हमारे लिए ज़रूरी है। अपनी सुविधा के अनुसार नया समय तय करने "
                       "के लिए कृपया हमसे संपर्क करें।")
                TMPL_SIGN("धन्यवाद,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },

    /* ---- prescription_ready ---- */
    {
        .name = "prescription_ready", .language = "en", .category = "transactional",
        .sms = "Hi {patient_name}, your prescription is ready for collection at "
               "{clinic_name}. Please collect it during clinic hours.",
        .subject = "Your prescription is ready",
        .text = "Dear {patient_name},\n\n"
                "Your prescription is ready for collection at {clinic_name}.\n\n"
                "Please collect it during clinic hours. If you have any questions about your "
                "medicines, our staff will be glad to help.\n\n"
                "Regards,\n{clinic_name}\n",
        .html = TMPL_HTML_EN("Your prescription is ready")
                TMPL_P("Dear {patient_name},")
                TMPL_P("Your prescription is ready for collection at "
                       "<strong>{clinic_name}</strong>.")
                TMPL_P("Please collect it during clinic hours. If you have any questions about "
                       "your medicines, our staff will be glad to help.")
                TMPL_SIGN("Regards,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },
    {
        .name = "prescription_ready", .language = "hi", .category = "transactional",
        .sms = "नमस्ते {patient_name} जी, आपका प्रिस्क्रिप्शन {clinic_name} में तैयार है। "
               "कृपया क्लिनिक के समय में आकर ले जाएँ।",
        .subject = "आपका प्रिस्क्रिप्शन तैयार है",
        .text = "प्रिय {patient_name} जी,\n\n"
                "आपका प्रिस्क्रिप्शन {clinic_name} में तैयार है।\n\n"
                "कृपया क्लिनिक के समय में आकर ले जाएँ। दवाइयों के बारे में कोई सवाल हो तो हमारा "
                "स्टाफ़ ख़ुशी से आपकी मदद करेगा।\n\n"
                "धन्यवाद,\n{clinic_name}\n",
        .html = TMPL_HTML_HI("आपका प्रिस्क्रिप्शन तैयार है")
                TMPL_P("प्रिय {patient_name} जी,")
                TMPL_P("आपका प्रिस्क्रिप्शन <strong>{clinic_name}</strong> में तैयार है।")
                TMPL_P("कृपया क्लिनिक के समय में आकर ले जाएँ। दवाइयों के बारे में कोई सवाल हो "
                       "तो हमारा स्टाफ़ ख़ुशी से आपकी मदद करेगा।")
                TMPL_SIGN("धन्यवाद,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },

    /* ---- preventive_care_annual ---- */
    {
        .name = "preventive_care_annual", .language = "en", .category = "reminders",
        .sms = "Hi {patient_name}, your annual check-up at {clinic_name} is due on "
               "{due_date}. Regular check-ups catch problems early. Please contact us to "
               "book.",
        .subject = "Your annual check-up is due on {due_date}",
        .text = "Dear {patient_name},\n\n"
                "Your annual check-up at {clinic_name} is due on {due_date}.\n\n"
                "Regular check-ups help us catch problems early, when they are simplest to "
                "treat. Please contact us to book a time that suits you.\n\n"
                "Regards,\n{clinic_name}\n",
        .html = TMPL_HTML_EN("Your annual check-up is due on {due_date}")
                TMPL_P("Dear {patient_name},")
                TMPL_P("Your annual check-up at <strong>{clinic_name}</strong> is due on "
                       "<strong>{due_date}</strong>.")
                TMPL_P("Regular check-ups help us catch problems early, when they are simplest "
                       "to treat. Please contact us to book a time that suits you.")
                TMPL_SIGN("Regards,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },
    {
        .name = "preventive_care_annual", .language = "hi", .category = "reminders",
        .sms = "नमस्ते {patient_name} जी, {clinic_name} में आपकी सालाना जाँच {due_date} को "
               "होनी है। नियमित जाँच से समस्याएँ जल्दी पकड़ में आती हैं। समय तय करने के लिए "
               "हमसे संपर्क करें।",
        .subject = "आपकी सालाना जाँच {due_date} को होनी है",
        .text = "प्रिय {patient_name} जी,\n\n"
                "{clinic_name} में आपकी सालाना जाँच {due_date} को होनी है।\n\n"
                "नियमित जाँच से समस्याएँ जल्दी पकड़ में आ जाती हैं, जब उनका इलाज सबसे आसान "
                "होता है। अपनी सुविधा का समय तय करने के लिए कृपया हमसे संपर्क करें।\n\n"
                "धन्यवाद,\n{clinic_name}\n",
        .html = TMPL_HTML_HI("आपकी सालाना जाँच {due_date} को होनी है")
                TMPL_P("प्रिय {patient_name} जी,")
                TMPL_P("<strong>{clinic_name}</strong> में आपकी सालाना जाँच "
                       "<strong>{due_date}</strong> को होनी है।")
                TMPL_P("नियमित जाँच से समस्याएँ जल्दी पकड़ में आ जाती हैं, जब उनका इलाज सबसे "
                       "आसान होता है। अपनी सुविधा का समय तय करने के लिए कृपया हमसे संपर्क "
                       "करें।")
                TMPL_SIGN("धन्यवाद,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },

    /* ---- replies to a patient's message (two-way SMS and WhatsApp) ---- */
    {
        .name = "reply_cancelled", .language = "en", .category = "transactional",
        .sms = "Your {service} appointment at {clinic_name} on {date} has been cancelled, {patient_name}. Reply or call us to book a new time.",
        .subject = "Appointment cancelled: {service} on {date}",
        .text = "Your {service} appointment at {clinic_name} on {date} has been cancelled, {patient_name}. Reply or call us to book a new time.\n",
        .html = TMPL_HTML_EN("Appointment cancelled: {service} on {date}") TMPL_P("Your {service} appointment at {clinic_name} on {date} has been cancelled, {patient_name}. Reply or call us to book a new time.") TMPL_HTML_CLOSE,
    },
    {
        .name = "reply_cancelled", .language = "hi", .category = "transactional",
        .sms = "आपका {date} का {service} अपॉइंटमेंट ({clinic_name}) रद्द कर दिया गया है, {patient_name} जी। नया समय लेने के लिए जवाब दें या हमें कॉल करें।",
        .subject = "अपॉइंटमेंट रद्द: {date} को {service}",
        .text = "आपका {date} का {service} अपॉइंटमेंट ({clinic_name}) रद्द कर दिया गया है, {patient_name} जी। नया समय लेने के लिए जवाब दें या हमें कॉल करें।\n",
        .html = TMPL_HTML_HI("अपॉइंटमेंट रद्द: {date} को {service}") TMPL_P("आपका {date} का {service} अपॉइंटमेंट ({clinic_name}) रद्द कर दिया गया है, {patient_name} जी। नया समय लेने के लिए जवाब दें या हमें कॉल करें।") TMPL_HTML_CLOSE,
    },
    {
        .name = "reply_confirmed", .language = "en", .category = "transactional",
        .sms = "Thank you, {patient_name}. Your {service} appointment at {clinic_name} on {date} at {time} is confirmed.",
        .subject = "Appointment confirmed: {service} on {date}",
        .text = "Thank you, {patient_name}. Your {service} appointment at {clinic_name} on {date} at {time} is confirmed.\n",
        .html = TMPL_HTML_EN("Appointment confirmed: {service} on {date}") TMPL_P("Thank you, {patient_name}. Your {service} appointment at {clinic_name} on {date} at {time} is confirmed.") TMPL_HTML_CLOSE,
    },
    {
        .name = "reply_confirmed", .language = "hi", .category = "transactional",
        .sms = "धन्यवाद, {patient_name} जी। {clinic_name} में {date} को {time} पर आपका {service} अपॉइंटमेंट पक्का हो गया है।",
        .subject = "अपॉइंटमेंट पक्का: {date} को {service}",
        .text = "धन्यवाद, {patient_name} जी। {clinic_name} में {date} को {time} पर आपका {service} अपॉइंटमेंट पक्का हो गया है।\n",
        .html = TMPL_HTML_HI("अपॉइंटमेंट पक्का: {date} को {service}") TMPL_P("धन्यवाद, {patient_name} जी। {clinic_name} में {date} को {time} पर आपका {service} अपॉइंटमेंट पक्का हो गया है।") TMPL_HTML_CLOSE,
    },
    {
        .name = "reply_help", .language = "en", .category = "transactional",
        .sms = "{clinic_name}: for help, contact us at {clinic_contact}. Reply C to confirm a visit, R to reschedule, STOP to stop messages.",
        .subject = "Help from {clinic_name}",
        .text = "{clinic_name}: for help, contact us at {clinic_contact}. Reply C to confirm a visit, R to reschedule, STOP to stop messages.\n",
        .html = TMPL_HTML_EN("Help from {clinic_name}") TMPL_P("{clinic_name}: for help, contact us at {clinic_contact}. Reply C to confirm a visit, R to reschedule, STOP to stop messages.") TMPL_HTML_CLOSE,
    },
    {
        .name = "reply_help", .language = "hi", .category = "transactional",
        .sms = "{clinic_name}: मदद के लिए हमसे {clinic_contact} पर संपर्क करें। अपॉइंटमेंट पक्का करने के लिए C, समय बदलने के लिए R, और संदेश बंद करने के लिए STOP लिखें।",
        .subject = "{clinic_name} से मदद",
        .text = "{clinic_name}: मदद के लिए हमसे {clinic_contact} पर संपर्क करें। अपॉइंटमेंट पक्का करने के लिए C, समय बदलने के लिए R, और संदेश बंद करने के लिए STOP लिखें।\n",
        .html = TMPL_HTML_HI("{clinic_name} से मदद") TMPL_P("{clinic_name}: मदद के लिए हमसे {clinic_contact} पर संपर्क करें। अपॉइंटमेंट पक्का करने के लिए C, समय बदलने के लिए R, और संदेश बंद करने के लिए STOP लिखें।") TMPL_HTML_CLOSE,
    },
    {
        .name = "reply_received", .language = "en", .category = "transactional",
        .sms = "Thank you, {patient_name}. {clinic_name} has received your message and will reply soon.",
        .subject = "We received your message",
        .text = "Thank you, {patient_name}. {clinic_name} has received your message and will reply soon.\n",
        .html = TMPL_HTML_EN("We received your message") TMPL_P("Thank you, {patient_name}. {clinic_name} has received your message and will reply soon.") TMPL_HTML_CLOSE,
    },
    {
        .name = "reply_received", .language = "hi", .category = "transactional",
        .sms = "धन्यवाद, {patient_name} जी। {clinic_name} को आपका संदेश मिल गया है, हम जल्द ही जवाब देंगे।",
        .subject = "आपका संदेश मिल गया",
        .text = "धन्यवाद, {patient_name} जी। {clinic_name} को आपका संदेश मिल गया है, हम जल्द ही जवाब देंगे।\n",
        .html = TMPL_HTML_HI("आपका संदेश मिल गया") TMPL_P("धन्यवाद, {patient_name} जी। {clinic_name} को आपका संदेश मिल गया है, हम जल्द ही जवाब देंगे।") TMPL_HTML_CLOSE,
    },
    {
        .name = "reply_reschedule", .language = "en", .category = "transactional",
        .sms = "Thank you, {patient_name}. {clinic_name} has your request to change your appointment and will contact you with a new time.",
        .subject = "Your request to reschedule",
        .text = "Thank you, {patient_name}. {clinic_name} has your request to change your appointment and will contact you with a new time.\n",
        .html = TMPL_HTML_EN("Your request to reschedule") TMPL_P("Thank you, {patient_name}. {clinic_name} has your request to change your appointment and will contact you with a new time.") TMPL_HTML_CLOSE,
    },
    {
        .name = "reply_reschedule", .language = "hi", .category = "transactional",
        .sms = "धन्यवाद, {patient_name} जी। {clinic_name} को अपॉइंटमेंट का समय बदलने का आपका अनुरोध मिल गया है, हम नए समय के लिए आपसे संपर्क करेंगे।",
        .subject = "समय बदलने का आपका अनुरोध",
        .text = "धन्यवाद, {patient_name} जी। {clinic_name} को अपॉइंटमेंट का समय बदलने का आपका अनुरोध मिल गया है, हम नए समय के लिए आपसे संपर्क करेंगे।\n",
        .html = TMPL_HTML_HI("समय बदलने का आपका अनुरोध") TMPL_P("धन्यवाद, {patient_name} जी। {clinic_name} को अपॉइंटमेंट का समय बदलने का आपका अनुरोध मिल गया है, हम नए समय के लिए आपसे संपर्क करेंगे।") TMPL_HTML_CLOSE,
    },
    {
        .name = "reply_start", .language = "en", .category = "consent",
        .sms = "You will receive messages from {clinic_name} here again. Reply STOP to stop.",
        .subject = "Messages from {clinic_name} are on again",
        .text = "You will receive messages from {clinic_name} here again. Reply STOP to stop.\n",
        .html = TMPL_HTML_EN("Messages from {clinic_name} are on again") TMPL_P("You will receive messages from {clinic_name} here again. Reply STOP to stop.") TMPL_HTML_CLOSE,
    },
    {
        .name = "reply_start", .language = "hi", .category = "consent",
        .sms = "अब आपको {clinic_name} के संदेश यहाँ फिर से मिलेंगे। बंद करने के लिए STOP लिखें।",
        .subject = "{clinic_name} के संदेश फिर से चालू",
        .text = "अब आपको {clinic_name} के संदेश यहाँ फिर से मिलेंगे। बंद करने के लिए STOP लिखें।\n",
        .html = TMPL_HTML_HI("{clinic_name} के संदेश फिर से चालू") TMPL_P("अब आपको {clinic_name} के संदेश यहाँ फिर से मिलेंगे। बंद करने के लिए STOP लिखें।") TMPL_HTML_CLOSE,
    },
    {
        .name = "reply_stop", .language = "en", .category = "consent",
        .sms = "You will no longer receive messages from {clinic_name} here. Reply START to receive them again.",
        .subject = "Messages from {clinic_name} are off",
        .text = "You will no longer receive messages from {clinic_name} here. Reply START to receive them again.\n",
        .html = TMPL_HTML_EN("Messages from {clinic_name} are off") TMPL_P("You will no longer receive messages from {clinic_name} here. Reply START to receive them again.") TMPL_HTML_CLOSE,
    },
    {
        .name = "reply_stop", .language = "hi", .category = "consent",
        .sms = "अब आपको {clinic_name} के संदेश यहाँ नहीं मिलेंगे। फिर से पाने के लिए START लिखें।",
        .subject = "{clinic_name} के संदेश बंद",
        .text = "अब आपको {clinic_name} के संदेश यहाँ नहीं मिलेंगे। फिर से पाने के लिए START लिखें।\n",
        .html = TMPL_HTML_HI("{clinic_name} के संदेश बंद") TMPL_P("अब आपको {clinic_name} के संदेश यहाँ नहीं मिलेंगे। फिर से पाने के लिए START लिखें।") TMPL_HTML_CLOSE,
    },

    /* ---- review_request: after a visit, a few days on (the built-in
     * post_visit_follow_up); a clinic adds its review link by editing
     * its copy of the template ---- */
    {
        .name = "review_request", .language = "en", .category = "reminders",
        .sms = "Hi {patient_name}, thank you for choosing {clinic_name}. If you were happy with "
               "your {service}, a short review would help other patients find us. Thank you!",
        .subject = "How was your visit to {clinic_name}?",
        .text = "Dear {patient_name},\n\n"
                "Thank you for choosing {clinic_name} for your {service}.\n\n"
                "If you were happy with your care, a short review would help other patients "
                "find us. If anything could have been better, please tell us: we read every "
                "reply.\n\n"
                "Regards,\n{clinic_name}\n",
        .html = TMPL_HTML_EN("How was your visit to {clinic_name}?")
                TMPL_P("Dear {patient_name},")
                TMPL_P("Thank you for choosing <strong>{clinic_name}</strong> for your "
                       "{service}.")
                TMPL_P("If you were happy with your care, a short review would help other "
                       "patients find us. If anything could have been better, please tell us: "
                       "we read every reply.")
                TMPL_SIGN("Regards,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },
    {
        .name = "review_request", .language = "hi", .category = "reminders",
        .sms = "नमस्ते {patient_name} जी, {clinic_name} चुनने का धन्यवाद। {service} से संतुष्ट "
               "हों तो एक छोटी समीक्षा ज़रूर दें।",
        .subject = "{clinic_name} में आपका अनुभव कैसा रहा?",
        .text = "प्रिय {patient_name} जी,\n\n"
                "{service} के लिए {clinic_name} चुनने का धन्यवाद।\n\n"
                "अगर आप हमारी देखभाल से संतुष्ट हैं, तो एक छोटी-सी समीक्षा दूसरे मरीज़ों को हमें "
                "ढूँढने में मदद करेगी। अगर कुछ बेहतर हो सकता था, तो हमें ज़रूर बताएँ: हम हर जवाब "
                "पढ़ते हैं।\n\n"
                "धन्यवाद,\n{clinic_name}\n",
        .html = TMPL_HTML_HI("{clinic_name} में आपका अनुभव कैसा रहा?")
                TMPL_P("प्रिय {patient_name} जी,")
                TMPL_P("{service} के लिए <strong>{clinic_name}</strong> चुनने का धन्यवाद।")
                TMPL_P("अगर आप हमारी देखभाल से संतुष्ट हैं, तो एक छोटी-सी समीक्षा दूसरे मरीज़ों "
                       "को हमें ढूँढने में मदद करेगी। अगर कुछ बेहतर हो सकता था, तो हमें ज़रूर "
                       "बताएँ: हम हर जवाब पढ़ते हैं।")
                TMPL_SIGN("धन्यवाद,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },

    /* ---- test_results_ready: says where, never what the result is ---- */
    {
        .name = "test_results_ready", .language = "en", .category = "transactional",
        .sms = "Hi {patient_name}, your {test_name} results are ready at {clinic_name}. "
               "Please contact us to collect them or to discuss them with your doctor.",
        .subject = "Your {test_name} results are ready",
        .text = "Dear {patient_name},\n\n"
                "Your {test_name} results are ready at {clinic_name}.\n\n"
                "Please contact us to collect them or to book a time to discuss them with "
                "your doctor.\n\n"
                "Regards,\n{clinic_name}\n",
        .html = TMPL_HTML_EN("Your {test_name} results are ready")
                TMPL_P("Dear {patient_name},")
                TMPL_P("Your <strong>{test_name}</strong> results are ready at "
                       "<strong>{clinic_name}</strong>.")
                TMPL_P("Please contact us to collect them or to book a time to discuss them "
                       "with your doctor.")
                TMPL_SIGN("Regards,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },
    {
        .name = "test_results_ready", .language = "hi", .category = "transactional",
        .sms = "नमस्ते {patient_name} जी, आपकी जाँच ({test_name}) की रिपोर्ट {clinic_name} "
               "में आ गई है। रिपोर्ट लेने या डॉक्टर से बात करने के लिए कृपया हमसे संपर्क "
               "करें।",
        .subject = "आपकी जाँच ({test_name}) की रिपोर्ट तैयार है",
        .text = "प्रिय {patient_name} जी,\n\n"
                "आपकी जाँच ({test_name}) की रिपोर्ट {clinic_name} में आ गई है।\n\n"
                "रिपोर्ट लेने या उस पर डॉक्टर से बात करने का समय तय करने के लिए कृपया हमसे "
                "संपर्क करें।\n\n"
                "धन्यवाद,\n{clinic_name}\n",
        .html = TMPL_HTML_HI("आपकी जाँच ({test_name}) की रिपोर्ट तैयार है")
                TMPL_P("प्रिय {patient_name} जी,")
                TMPL_P("आपकी जाँच (<strong>{test_name}</strong>) की रिपोर्ट "
                       "<strong>{clinic_name}</strong> में आ गई है।")
                TMPL_P("रिपोर्ट लेने या उस पर डॉक्टर से बात करने का समय तय करने के लिए कृपया "
                       "हमसे संपर्क करें।")
                TMPL_SIGN("धन्यवाद,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },

    /* ---- ticket_reply: a staff reply on a ticket (ticket.c) ---- */
    {
        .name = "ticket_reply", .language = "en", .category = "transactional",
        .sms = "{patient_name}, {message} - {clinic_name}",
        .subject = "Reply from {clinic_name}",
        .text = "Dear {patient_name},\n\n{message}\n\nRegards,\n{clinic_name}\n",
        .html = TMPL_HTML_EN("Reply from {clinic_name}") TMPL_P("Dear {patient_name},")
                TMPL_P("{message}") TMPL_SIGN("Regards,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },
    {
        .name = "ticket_reply", .language = "hi", .category = "transactional",
        .sms = "{patient_name} जी, {message} - {clinic_name}",
        .subject = "{clinic_name} का जवाब",
        .text = "प्रिय {patient_name} जी,\n\n{message}\n\nधन्यवाद,\n{clinic_name}\n",
        .html = TMPL_HTML_HI("{clinic_name} का जवाब") TMPL_P("प्रिय {patient_name} जी,")
                TMPL_P("{message}") TMPL_SIGN("धन्यवाद,<br>{clinic_name}") TMPL_HTML_CLOSE,
    },
};

const size_t tmpl_builtins_count = sizeof tmpl_builtins / sizeof tmpl_builtins[0];
