//! Renders HTML reports in headless Chromium (Debian's `chromium`): the page must load with its
//! plots and thumbnail, fetch nothing, log nothing to the console, and show a hostile file
//! name as text. The screenshot is kept in `target/test-artifacts/` to look at.
//!
//! Without Chromium the test says so and skips, unless `AVSYNC_REQUIRE_CHROMIUM` is set (as CI
//! does once the set-up script has installed it), when a missing browser fails it.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::sample_reports::{measure, profiles, standard_set, IN_SYNC, LATE_200};

const ARTIFACTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target/test-artifacts");
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);
/// Tall enough for the whole report at this width, so the screenshot shows all of it.
const WINDOW_SIZE: &str = "1200,3400";

/// Appended to a copy of the page (the report itself has no script): after load, it writes
/// what rendered into a `<pre id="avsync-check">` that `--dump-dom` shows, and logs it.
const PROBE: &str = r#"<script>
window.addEventListener('load', () => {
  const images = [...document.images];
  const svgs = [...document.querySelectorAll('svg')];
  const result = {
    images: images.length,
    broken_images: images.filter(i => !(i.complete && i.naturalWidth > 0)).length,
    svgs: svgs.length,
    drawn_svgs: svgs.filter(s => s.getBoundingClientRect().width > 300
      && s.querySelectorAll('polyline, path, line, rect, circle').length > 20).length,
    fetched: performance.getEntriesByType('resource').map(r => r.name)
      .filter(n => !n.startsWith('data:')),
    injected_images: document.querySelectorAll('img[src="x"]').length,
    banners: document.querySelectorAll('.banner').length,
  };
  const pre = document.createElement('pre');
  pre.id = 'avsync-check';
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
  console.log('AVSYNC-CHECK ' + JSON.stringify(result));
});
</script>"#;

fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    ["chromium", "chromium-browser"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs Chromium headless on `page` with `extra` arguments; returns (stdout, stderr).
fn chromium(browser: &Path, page: &Path, extra: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={WINDOW_SIZE}"))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let (out, err) = (read(Box::new(stdout)), read(Box::new(stderr)));
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            panic!("chromium did not finish within {BROWSER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (out.join().unwrap(), err.join().unwrap())
}

/// The page's console messages, from Chromium's log.
fn console_messages(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// Loads `html` (written to `dir/name`) with the probe and returns its findings and the DOM.
fn probe(browser: &Path, dir: &Path, name: &str, html: &str) -> (serde_json::Value, String) {
    let probed = html.replace("</body>", &format!("{PROBE}\n</body>"));
    let path = dir.join(name);
    std::fs::write(&path, probed).unwrap();
    let (dom, log) = chromium(browser, &path, &["--dump-dom"]);
    let console = console_messages(&log);
    assert_eq!(console.len(), 1, "console messages besides the probe's: {console:#?}");
    assert!(console[0].contains("AVSYNC-CHECK"), "{}", console[0]);
    let start = dom.find("<pre id=\"avsync-check\">").expect("the probe ran") + 23;
    let end = start + dom[start..].find("</pre>").unwrap();
    (serde_json::from_str(&dom[start..end]).unwrap(), dom)
}

#[test]
fn html_report_renders_in_chromium_with_its_plots() {
    let Some(browser) = find_chromium() else {
        let message = "chromium not found: install Debian's `chromium` package (apt-get install \
                       chromium) to render the HTML report";
        if std::env::var_os("AVSYNC_REQUIRE_CHROMIUM").is_some() {
            panic!("{message}");
        }
        eprintln!("SKIPPED html_report_renders_in_chromium_with_its_plots: {message}");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let options = profiles(&["broadcast", "cinema", "ebu-r37"]);

    // One report: every plot, the thumbnail, a banner per profile.
    let late = measure(&LATE_200, &options);
    let page = avsync::report::render_html_page(std::slice::from_ref(&late)).unwrap();
    let (found, _) = probe(&browser, dir.path(), "late.html", &page);
    assert_eq!(found["svgs"], 3, "{found}");
    assert_eq!(found["drawn_svgs"], 3, "every plot has its marks: {found}");
    assert_eq!(found["images"], 1, "{found}");
    assert_eq!(found["broken_images"], 0, "the thumbnail decodes: {found}");
    assert_eq!(found["banners"], 3, "{found}");
    assert_eq!(found["fetched"], serde_json::json!([]), "nothing fetched: {found}");

    // A batch with a hostile file name: it must show as text, not become an element.
    let mut hostile = measure(&IN_SYNC, &options);
    hostile.input.path = "<img src=x onerror=alert(1)>.mp4".into();
    let mut batch = standard_set();
    batch.push(hostile);
    let page = avsync::report::render_html_page(&batch).unwrap();
    let (found, dom) = probe(&browser, dir.path(), "batch.html", &page);
    assert_eq!(found["injected_images"], 0, "{found}");
    assert_eq!(found["broken_images"], 0, "{found}");
    assert_eq!(found["fetched"], serde_json::json!([]), "{found}");
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;.mp4"), "shown as text");

    // The screenshot of the report as a user sees it, kept as a test artefact.
    std::fs::create_dir_all(ARTIFACTS).unwrap();
    let page_path = Path::new(ARTIFACTS).join("html-report.html");
    std::fs::write(&page_path, avsync::report::render_html_page(&[late]).unwrap()).unwrap();
    let shot = Path::new(ARTIFACTS).join("html-report.png");
    let _ = std::fs::remove_file(&shot);
    let (_, log) = chromium(&browser, &page_path, &[&format!("--screenshot={}", shot.display())]);
    assert!(console_messages(&log).is_empty(), "{:#?}", console_messages(&log));
    let image = image::open(&shot).expect("a screenshot was written").to_rgb8();
    // The fail banners are drawn in the page's fail red (#cf222e).
    let red = image.pixels().filter(|p| p.0 == [0xcf, 0x22, 0x2e]).count();
    assert!(red > 10_000, "fail banners visible ({red} red pixels)");
    eprintln!("screenshot: {}", shot.display());
}
