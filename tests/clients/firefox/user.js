// Preferences for the throwaway Firefox profiles of tests/real_clients.rs: a headless browser
// on a machine without internet that talks to 127.0.0.1 only. The test writes this file into a
// fresh profile and, for the cases that should log in with Kerberos, adds
//     user_pref("network.negotiate-auth.trusted-uris", "localhost");
// Without that line (the default, an empty list) Firefox never answers a Negotiate challenge.

// Kerberos: use the system's MIT GSSAPI (libgssapi_krb5.so.2) with KRB5_CONFIG / KRB5CCNAME
// from the environment. allow-non-fqdn stays false (its default): set to true, Firefox offers
// Kerberos to EVERY dotless host name (`localhost` included) whatever trusted-uris says, so the
// "not trusted" case would log in. Naming `localhost` in trusted-uris is enough on its own.
user_pref("network.negotiate-auth.allow-non-fqdn", false);
user_pref("network.negotiate-auth.allow-proxies", false);
user_pref("network.negotiate-auth.delegation-uris", "");
user_pref("network.negotiate-auth.using-native-gsslib", true);
user_pref("network.auth.use-sspi", false);
user_pref("network.automatic-ntlm-auth.trusted-uris", "");
user_pref("network.proxy.type", 0);
user_pref("network.proxy.allow_hijacking_localhost", false);

// First run, default browser, crash recovery, updates: nothing that waits or shows a dialog.
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.startup.page", 0);
user_pref("browser.aboutwelcome.enabled", false);
user_pref("startup.homepage_welcome_url", "");
user_pref("startup.homepage_welcome_url.additional", "");
user_pref("toolkit.startup.max_resumed_crashes", -1);
user_pref("browser.sessionstore.resume_from_crash", false);
user_pref("app.update.enabled", false);
user_pref("app.update.auto", false);
user_pref("app.normandy.enabled", false);
user_pref("app.shield.optoutstudies.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("extensions.getAddons.cache.enabled", false);
user_pref("extensions.systemAddon.update.enabled", false);
user_pref("signon.rememberSignons", false);

// No phoning home: telemetry, remote settings, safe browsing, captive portal, DoH, push.
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.unified", false);
user_pref("toolkit.telemetry.archive.enabled", false);
user_pref("toolkit.telemetry.server", "data:,");
user_pref("browser.ping-centre.telemetry", false);
user_pref("browser.newtabpage.enabled", false);
user_pref("browser.newtabpage.activity-stream.feeds.telemetry", false);
user_pref("browser.newtabpage.activity-stream.telemetry", false);
user_pref("browser.topsites.contile.enabled", false);
user_pref("services.settings.server", "data:,");
user_pref("security.remote_settings.crlite_filters.enabled", false);
user_pref("security.remote_settings.intermediates.enabled", false);
user_pref("security.OCSP.enabled", 0);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.safebrowsing.downloads.remote.enabled", false);
user_pref("browser.safebrowsing.blockedURIs.enabled", false);
user_pref("browser.safebrowsing.provider.mozilla.updateURL", "");
user_pref("browser.region.update.enabled", false);
user_pref("browser.region.network.url", "");
user_pref("browser.search.update", false);
user_pref("geo.enabled", false);
user_pref("media.gmp-manager.url", "");
user_pref("media.gmp-gmpopenh264.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.trr.mode", 5);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.prefetch-next", false);
user_pref("network.http.speculative-parallel-limit", 0);
user_pref("dom.push.connection.enabled", false);
user_pref("dom.push.serverURL", "");
user_pref("browser.uitour.enabled", false);

// Black text on white, whatever the desktop theme: the screenshot is read by OCR.
user_pref("layout.css.prefers-color-scheme.content-override", 1);
