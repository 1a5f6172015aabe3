//! The inbound email path up to the database: MIME parsing with charset
//! recovery, mbox splitting, HTML sanitising and the quote fold point. Any panic
//! is a bug. Seed the corpus from testdata: `cp -r ../testdata/email_mime_corpus/*/ corpus/inbound_email/`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for piece in channels::email::split_mbox(data) {
        if let Ok(m) = channels::email::parse(piece) {
            let _ = domain::text::fold_point(&m.text);
            if let Some(h) = &m.html {
                let _ = ammonia::clean(h);
            }
            for a in &m.attachments {
                assert!(!a.filename.contains('/') && !a.filename.contains('\\'));
            }
        }
    }
});
