//! The interactive screen of `netatop top` (ratatui on crossterm).

use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Alignment, Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row as TableRow};
use ratatui::Frame;

use crate::cgroups::{sample_cgroups, CgroupSample, CgroupView};
use crate::conns::{sample_connections, ConnSample, ConnView};
use crate::error::{CliError, Result};
use crate::procfs::Proc;
use crate::rates::View;
use crate::sample::{CounterSource, Sample, Sampler};
use crate::table::{sort_rows, SortKey, Table};

/// What a key press asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `q`, `Q`, `Esc` or `Ctrl-C`: leave.
    Quit,
    /// `s` or `→`: sort by the next column to the right.
    SortNext,
    /// `S` or `←`: sort by the next column to the left.
    SortPrev,
    /// `t`: switch between processes and threads.
    ToggleThreads,
    /// `g`: switch between processes and cgroups.
    ToggleCgroups,
    /// `c`: switch between processes and connections.
    ToggleConnections,
    /// `↑` / `↓`: scroll by one line.
    Scroll(i64),
    /// `PgUp` / `PgDn`: scroll by a page.
    Page(i64),
    /// `Home`: back to the top.
    Top,
    /// Any other key.
    Nothing,
}

/// The action of a key press.
pub fn action_for(key: KeyEvent) -> Action {
    if key.kind != KeyEventKind::Press {
        return Action::Nothing;
    }
    match key.code {
        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => Action::Quit,
        KeyCode::Char('q') | KeyCode::Char('Q') | KeyCode::Esc => Action::Quit,
        KeyCode::Char('s') | KeyCode::Right => Action::SortNext,
        KeyCode::Char('S') | KeyCode::Left => Action::SortPrev,
        KeyCode::Char('t') | KeyCode::Char('T') => Action::ToggleThreads,
        KeyCode::Char('g') | KeyCode::Char('G') => Action::ToggleCgroups,
        KeyCode::Char('c') | KeyCode::Char('C') => Action::ToggleConnections,
        KeyCode::Down => Action::Scroll(1),
        KeyCode::Up => Action::Scroll(-1),
        KeyCode::PageDown => Action::Page(1),
        KeyCode::PageUp => Action::Page(-1),
        KeyCode::Home => Action::Top,
        _ => Action::Nothing,
    }
}

/// The screen's state besides the data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Screen {
    /// Sort column.
    pub sort: SortKey,
    /// Threads instead of processes.
    pub threads: bool,
    /// Cgroups instead of processes (or threads).
    pub cgroups: bool,
    /// Connections instead of processes, threads or cgroups.
    pub connections: bool,
    /// Index of the first row shown.
    pub scroll: usize,
}

impl Screen {
    /// Switches between processes and threads (`t`; from cgroups or
    /// connections: to threads), between cgroups and processes (`g`) or
    /// between connections and processes (`c`), back to the top, with the
    /// sort column carried over to the new table's nearest one.
    pub fn switch(&mut self, action: Action) {
        match action {
            Action::ToggleThreads if self.cgroups || self.connections => {
                self.cgroups = false;
                self.connections = false;
                self.threads = true;
            }
            Action::ToggleThreads => self.threads = !self.threads,
            Action::ToggleCgroups => {
                self.cgroups = !self.cgroups;
                self.threads = false;
                self.connections = false;
            }
            Action::ToggleConnections => {
                self.connections = !self.connections;
                self.threads = false;
                self.cgroups = false;
            }
            _ => return,
        }
        self.sort = if self.cgroups {
            self.sort.to_cgroups()
        } else if self.connections {
            self.sort.to_connections()
        } else {
            self.sort.to_tasks()
        };
        self.scroll = 0;
    }

    /// Applies a scrolling action for a table of `rows` rows of which
    /// `page` fit on the screen.
    pub fn scroll_by(&mut self, action: Action, rows: usize, page: usize) {
        let max = rows.saturating_sub(1);
        let step = |n: i64, by: usize| -> usize {
            let by = by.max(1);
            if n < 0 {
                self.scroll.saturating_sub(by)
            } else {
                self.scroll.saturating_add(by).min(max)
            }
        };
        self.scroll = match action {
            Action::Scroll(n) => step(n, 1),
            Action::Page(n) => step(n, page),
            Action::Top => 0,
            _ => self.scroll,
        };
    }
}

/// Lines above and below the table: three summary lines and a blank one,
/// and the key help.
const ABOVE: u16 = 4;
const BELOW: u16 = 1;

/// Rows of the table that fit in a screen `height` lines high.
pub fn page_rows(height: u16) -> usize {
    usize::from(height.saturating_sub(ABOVE + BELOW + 1))
}

/// Draws one frame: the summary, the table from `screen.scroll` on (the
/// sort column's title highlighted), and the key help.
pub fn draw(frame: &mut Frame, view: &dyn Table, screen: &Screen) {
    let [top, table_area, help] = Layout::vertical([
        Constraint::Length(ABOVE),
        Constraint::Min(1),
        Constraint::Length(BELOW),
    ])
    .areas(frame.area());

    let summary: Vec<Line> = view
        .summary(screen.sort)
        .into_iter()
        .map(Line::from)
        .collect();
    frame.render_widget(Paragraph::new(summary), top);

    let columns = view.columns();
    let header = TableRow::new(columns.iter().enumerate().map(|(i, c)| {
        let mut style = Style::default().add_modifier(Modifier::BOLD);
        if c.key == screen.sort {
            style = style.add_modifier(Modifier::REVERSED);
        }
        aligned(view.title(i).to_owned(), c.right).style(style)
    }));
    let rows = (screen.scroll..view.row_count()).map(|i| {
        TableRow::new(
            view.row_cells(i)
                .into_iter()
                .zip(columns.iter())
                .map(|(text, c)| aligned(text, c.right)),
        )
    });
    let widths = columns.iter().map(|c| match c.width {
        // Width 0: the rest of the line (the cgroup path).
        0 => Constraint::Fill(1),
        // CAST: widths are at most 15.
        w => Constraint::Length(w as u16),
    });
    let table = ratatui::widgets::Table::new(rows, widths)
        .header(header)
        .column_spacing(1);
    frame.render_widget(table, table_area);

    let keys = "q quit  s/S or \u{2192}/\u{2190} sort column  t processes/threads  \
                g cgroups  c connections  \u{2191}/\u{2193} PgUp/PgDn Home scroll";
    frame.render_widget(
        Paragraph::new(Line::from(keys)).style(Style::default().add_modifier(Modifier::DIM)),
        help,
    );
}

fn aligned(text: String, right: bool) -> Cell<'static> {
    let line = Line::from(text);
    Cell::from(if right {
        line.alignment(Alignment::Right)
    } else {
        line
    })
}

/// Options of the interactive screen.
#[derive(Clone, Copy, Debug)]
pub struct TopOptions {
    /// Time between refreshes.
    pub interval: Duration,
    /// Leave after this many refreshes (none: run until `q`).
    pub iterations: Option<u64>,
    /// Initial sort column.
    pub sort: SortKey,
    /// Start with threads instead of processes.
    pub threads: bool,
    /// Start with cgroups instead of processes.
    pub cgroups: bool,
    /// Start with connections instead of processes.
    pub connections: bool,
}

fn build(before: Option<&Sample>, now: &Sample, sort: SortKey) -> View {
    let mut view = View::build(before, now);
    sort_rows(&mut view.rows, sort);
    view
}

/// What the screen shows: the last sample and the view made of it.
enum Data {
    /// Processes or threads.
    Tasks { cur: Sample, view: View },
    /// Cgroups.
    Cgroups { cur: CgroupSample, view: CgroupView },
    /// Connections.
    Connections { cur: ConnSample, view: ConnView },
}

impl Data {
    /// A baseline sample of what `screen` asks for.
    fn baseline<S: CounterSource>(
        source: &S,
        sampler: &Sampler<'_, S>,
        proc: &Proc,
        screen: &Screen,
    ) -> Result<Data> {
        Ok(if screen.connections {
            let cur = sample_connections(source, proc)?;
            let mut view = ConnView::build(None, &cur);
            view.sort(screen.sort);
            Data::Connections { cur, view }
        } else if screen.cgroups {
            let cur = sample_cgroups(source)?;
            let mut view = CgroupView::build(None, &cur);
            view.sort(screen.sort);
            Data::Cgroups { cur, view }
        } else {
            let cur = sampler.sample(screen.threads)?;
            let view = build(None, &cur, screen.sort);
            Data::Tasks { cur, view }
        })
    }

    /// A new sample of the same kind, with rates against the last one.
    fn refresh<S: CounterSource>(
        &mut self,
        source: &S,
        sampler: &Sampler<'_, S>,
        proc: &Proc,
        screen: &Screen,
    ) -> Result<()> {
        match self {
            Data::Tasks { cur, view } => {
                let new = sampler.sample(screen.threads)?;
                let prev = std::mem::replace(cur, new);
                *view = build(Some(&prev), cur, screen.sort);
            }
            Data::Cgroups { cur, view } => {
                let new = sample_cgroups(source)?;
                let prev = std::mem::replace(cur, new);
                *view = CgroupView::build(Some(&prev), cur);
                view.sort(screen.sort);
            }
            Data::Connections { cur, view } => {
                let new = sample_connections(source, proc)?;
                let prev = std::mem::replace(cur, new);
                *view = ConnView::build(Some(&prev), cur);
                view.sort(screen.sort);
            }
        }
        Ok(())
    }

    fn table(&self) -> &dyn Table {
        match self {
            Data::Tasks { view, .. } => view,
            Data::Cgroups { view, .. } => view,
            Data::Connections { view, .. } => view,
        }
    }

    fn table_mut(&mut self) -> &mut dyn Table {
        match self {
            Data::Tasks { view, .. } => view,
            Data::Cgroups { view, .. } => view,
            Data::Connections { view, .. } => view,
        }
    }
}

/// Restores the terminal when dropped, however the screen is left.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

fn tty_error(source: std::io::Error) -> CliError {
    CliError::Io {
        what: "terminal".into(),
        source,
    }
}

/// Runs the interactive screen until `q` (or `iterations` refreshes).
///
/// The first sample is taken before the terminal is switched to the
/// alternate screen, so "module not loaded" and the like are reported on a
/// normal terminal.
pub fn run<S: CounterSource>(source: &S, proc: Proc, opts: TopOptions) -> Result<()> {
    let sampler = Sampler::new(source, proc.clone());
    let mut screen = Screen {
        sort: opts.sort,
        threads: opts.threads,
        cgroups: opts.cgroups,
        connections: opts.connections,
        scroll: 0,
    };
    let mut data = Data::baseline(source, &sampler, &proc, &screen)?;

    let mut terminal = match ratatui::try_init() {
        Ok(t) => t,
        Err(e) => {
            ratatui::restore();
            return Err(tty_error(e));
        }
    };
    let _restore = Restore;
    let mut refreshes = 0u64;
    let mut next = Instant::now() + opts.interval;
    loop {
        let mut page = 0;
        terminal
            .draw(|f| {
                page = page_rows(f.area().height);
                draw(f, data.table(), &screen);
            })
            .map_err(tty_error)?;
        let wait = next.saturating_duration_since(Instant::now());
        if event::poll(wait).map_err(tty_error)? {
            let Event::Key(key) = event::read().map_err(tty_error)? else {
                continue; // resize and the like: redraw
            };
            match action_for(key) {
                Action::Quit => return Ok(()),
                Action::SortNext | Action::SortPrev => {
                    let keys = data.table().keys();
                    screen.sort = if action_for(key) == Action::SortNext {
                        screen.sort.next_in(keys)
                    } else {
                        screen.sort.prev_in(keys)
                    };
                    data.table_mut().sort(screen.sort);
                }
                a @ (Action::ToggleThreads | Action::ToggleCgroups | Action::ToggleConnections) => {
                    screen.switch(a);
                    data = Data::baseline(source, &sampler, &proc, &screen)?;
                    next = Instant::now() + opts.interval;
                }
                a @ (Action::Scroll(_) | Action::Page(_) | Action::Top) => {
                    screen.scroll_by(a, data.table().row_count(), page);
                }
                Action::Nothing => {}
            }
        } else {
            data.refresh(source, &sampler, &proc, &screen)?;
            screen.scroll = screen
                .scroll
                .min(data.table().row_count().saturating_sub(1));
            refreshes += 1;
            if opts.iterations.is_some_and(|n| refreshes >= n) {
                return Ok(());
            }
            next += opts.interval;
            let now = Instant::now();
            if next < now {
                next = now + opts.interval;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rates::tests::{sample, task};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    /// Draws `view` on a `width` x `height` test terminal: its buffer and
    /// its lines, trailing blanks trimmed.
    fn screen_lines(
        view: &dyn Table,
        screen: &Screen,
        width: u16,
        height: u16,
    ) -> (ratatui::buffer::Buffer, Vec<String>) {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|f| draw(f, view, screen)).unwrap();
        let buf = terminal.backend().buffer().clone();
        let lines = (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol().to_owned())
                    .collect::<String>()
                    .trim_end()
                    .to_owned()
            })
            .collect();
        (buf, lines)
    }

    #[test]
    fn keys() {
        let none = KeyModifiers::NONE;
        assert_eq!(action_for(key(KeyCode::Char('q'), none)), Action::Quit);
        assert_eq!(action_for(key(KeyCode::Esc, none)), Action::Quit);
        assert_eq!(
            action_for(key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Action::Quit
        );
        assert_eq!(action_for(key(KeyCode::Char('s'), none)), Action::SortNext);
        assert_eq!(action_for(key(KeyCode::Right, none)), Action::SortNext);
        assert_eq!(
            action_for(key(KeyCode::Char('S'), KeyModifiers::SHIFT)),
            Action::SortPrev
        );
        assert_eq!(action_for(key(KeyCode::Left, none)), Action::SortPrev);
        assert_eq!(
            action_for(key(KeyCode::Char('t'), none)),
            Action::ToggleThreads
        );
        assert_eq!(
            action_for(key(KeyCode::Char('g'), none)),
            Action::ToggleCgroups
        );
        assert_eq!(
            action_for(key(KeyCode::Char('c'), none)),
            Action::ToggleConnections
        );
        assert_eq!(action_for(key(KeyCode::Down, none)), Action::Scroll(1));
        assert_eq!(action_for(key(KeyCode::PageUp, none)), Action::Page(-1));
        assert_eq!(action_for(key(KeyCode::Home, none)), Action::Top);
        let mut release = key(KeyCode::Char('q'), none);
        release.kind = KeyEventKind::Release;
        assert_eq!(action_for(release), Action::Nothing);
    }

    #[test]
    fn scrolling_stays_within_the_rows() {
        let mut s = Screen {
            sort: SortKey::Total,
            threads: false,
            cgroups: false,
            connections: false,
            scroll: 0,
        };
        s.scroll_by(Action::Scroll(-1), 10, 4);
        assert_eq!(s.scroll, 0);
        s.scroll_by(Action::Page(1), 10, 4);
        assert_eq!(s.scroll, 4);
        s.scroll_by(Action::Page(1), 10, 4);
        s.scroll_by(Action::Page(1), 10, 4);
        assert_eq!(s.scroll, 9);
        s.scroll_by(Action::Scroll(-1), 10, 4);
        assert_eq!(s.scroll, 8);
        s.scroll_by(Action::Top, 10, 4);
        assert_eq!(s.scroll, 0);
        s.scroll_by(Action::Scroll(1), 0, 4);
        assert_eq!(s.scroll, 0);
        assert_eq!(page_rows(24), 18);
        assert_eq!(page_rows(3), 0);
    }

    #[test]
    fn the_screen_shows_summary_table_and_keys() {
        let t0 = Instant::now();
        let a = sample(
            t0,
            1_717_200_000,
            vec![
                task(10, 5, "sshd", [1, 100, 1, 100, 0, 0, 0, 0]),
                task(200, 5, "curl", [0; 8]),
            ],
        );
        let b = sample(
            t0 + Duration::from_secs(2),
            1_717_200_002,
            vec![
                task(10, 5, "sshd", [5, 2148, 3, 1124, 0, 0, 0, 0]),
                task(200, 5, "curl", [10, 20480, 20, 40960, 2, 200, 2, 200]),
            ],
        );
        let view = build(Some(&a), &b, SortKey::Total);
        let screen = Screen {
            sort: SortKey::Total,
            threads: false,
            cgroups: false,
            connections: false,
            scroll: 0,
        };
        let (buf, lines) = screen_lines(&view, &screen, 130, 9);
        let text = crate::table::render_text(&view, SortKey::Total);
        let expected: Vec<&str> = text.lines().collect();
        // Same summary and table as batch mode, then the key help.
        assert_eq!(lines[..7], expected[..]);
        assert_eq!(lines[7], "");
        assert!(lines[8].starts_with("q quit  s/S or"), "{}", lines[8]);
        // The sort column's title is highlighted.
        let x = lines[4].find("TOTKB/s").unwrap();
        let cell = &buf[(u16::try_from(x).unwrap(), 4)];
        assert!(cell.modifier.contains(Modifier::REVERSED));
        let x = lines[4].find("BYTES").unwrap();
        assert!(!buf[(u16::try_from(x).unwrap(), 4)]
            .modifier
            .contains(Modifier::REVERSED));

        // Scrolled by one: the second row comes first.
        let screen = Screen {
            scroll: 1,
            ..screen
        };
        let (_, lines) = screen_lines(&view, &screen, 130, 9);
        assert_eq!(lines[5], expected[6]);
    }

    #[test]
    fn switching_tables_maps_the_sort_column() {
        let mut s = Screen {
            sort: SortKey::Pid,
            threads: true,
            cgroups: false,
            connections: false,
            scroll: 7,
        };
        s.switch(Action::ToggleCgroups);
        assert_eq!(
            (s.cgroups, s.threads, s.sort, s.scroll),
            (true, false, SortKey::Procs, 0)
        );
        s.sort = SortKey::Path;
        s.switch(Action::ToggleThreads);
        assert_eq!(
            (s.cgroups, s.threads, s.sort),
            (false, true, SortKey::Command)
        );
        s.switch(Action::ToggleThreads);
        assert_eq!((s.cgroups, s.threads), (false, false));
        s.sort = SortKey::Total;
        s.switch(Action::ToggleCgroups);
        s.switch(Action::ToggleCgroups);
        assert_eq!((s.cgroups, s.sort), (false, SortKey::Total));
        // The cgroup table's keys cycle through its own columns.
        assert_eq!(
            SortKey::Cumulative.next_in(&SortKey::CGROUPS),
            SortKey::Path
        );
        assert_eq!(SortKey::Path.next_in(&SortKey::CGROUPS), SortKey::Procs);
        assert_eq!(SortKey::Procs.prev_in(&SortKey::CGROUPS), SortKey::Path);

        // Connections: from processes and back, from cgroups, to threads.
        let mut s = Screen {
            sort: SortKey::UdpRcv,
            threads: true,
            cgroups: false,
            connections: false,
            scroll: 3,
        };
        s.switch(Action::ToggleConnections);
        assert_eq!(
            (s.connections, s.threads, s.cgroups, s.sort, s.scroll),
            (true, false, false, SortKey::Rcv, 0)
        );
        s.sort = SortKey::Local;
        s.switch(Action::ToggleConnections);
        assert_eq!((s.connections, s.sort), (false, SortKey::Total));
        s.switch(Action::ToggleCgroups);
        s.sort = SortKey::Path;
        s.switch(Action::ToggleConnections);
        assert_eq!(
            (s.connections, s.cgroups, s.sort),
            (true, false, SortKey::Command)
        );
        s.switch(Action::ToggleThreads);
        assert_eq!((s.connections, s.threads), (false, true));
        s.switch(Action::ToggleConnections);
        s.switch(Action::ToggleCgroups);
        assert_eq!((s.connections, s.cgroups), (false, true));
        assert_eq!(SortKey::Remote.next_in(&SortKey::CONNECTIONS), SortKey::Pid);
    }

    #[test]
    fn the_connection_screen_matches_batch_mode() {
        let view = crate::conns::tests::two_samples();
        let screen = Screen {
            sort: SortKey::Total,
            threads: false,
            cgroups: false,
            connections: true,
            scroll: 0,
        };
        let (buf, lines) = screen_lines(&view, &screen, 160, 10);
        let text = crate::conns::render_conn_text(&view, SortKey::Total);
        let expected: Vec<&str> = text.lines().collect();
        // The same cells; the two ends share the rest of the line.
        assert_eq!(lines[..4], expected[..4]);
        for (got, want) in lines[4..8].iter().zip(&expected[4..8]) {
            let words = |l: &str| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
            assert_eq!(words(got), words(want));
        }
        assert!(lines[9].contains("c connections"), "{}", lines[9]);
        let x = lines[4].find("TOTKB/s").unwrap();
        assert!(buf[(u16::try_from(x).unwrap(), 4)]
            .modifier
            .contains(Modifier::REVERSED));
    }

    #[test]
    fn the_cgroup_screen_matches_batch_mode() {
        let view = crate::cgroups::tests::two_samples();
        let screen = Screen {
            sort: SortKey::Total,
            threads: false,
            cgroups: true,
            connections: false,
            scroll: 0,
        };
        let (buf, lines) = screen_lines(&view, &screen, 160, 10);
        let text = crate::cgroups::render_cgroup_text(&view, SortKey::Total);
        let expected: Vec<&str> = text.lines().collect();
        assert_eq!(lines[..8], expected[..]);
        let x = lines[4].find("TOTKB/s").unwrap();
        assert!(buf[(u16::try_from(x).unwrap(), 4)]
            .modifier
            .contains(Modifier::REVERSED));
    }
}
