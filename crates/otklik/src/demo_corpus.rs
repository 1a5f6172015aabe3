//! Hand-written corpus of demo conversations used by `serve --demo`.
//!
//! Every conversation is a realistic exchange between a customer of an online
//! store (electronics, clothes, home goods) and the support team, written in
//! Russian, English or Thai. Strings may contain the placeholders `{name}`
//! (customer's first name), `{order}` (an order number) and `{agent}` (the
//! agent's first name); no other braces are used.

/// Who wrote one turn of a demo conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// The customer who opened the ticket.
    Customer,
    /// A support agent replying to the customer.
    Agent,
    /// An internal note between agents, never shown to the customer.
    Note,
}

/// One realistic support conversation in one language.
pub struct Conversation {
    /// Language code: "ru", "en" or "th".
    pub lang: &'static str,
    /// One of: "delivery", "returns", "payment", "technical", "account", "product".
    pub category: &'static str,
    /// One of: "low", "normal", "high", "urgent".
    pub priority: &'static str,
    /// Ticket subject as the customer would type it.
    pub subject: &'static str,
    /// Turns in chronological order; the first one is always the customer's.
    pub turns: &'static [(Who, &'static str)],
}

/// All demo conversations.
pub static CONVERSATIONS: &[Conversation] = &[
    // ------------------------------------------------------------------
    // Russian
    // ------------------------------------------------------------------
    Conversation {
        lang: "ru",
        category: "delivery",
        priority: "normal",
        subject: "Где мой заказ?",
        turns: &[
            (
                Who::Customer,
                "Здравствуйте! Заказал беспроводные наушники 5 дней назад, заказ {order}. Статус «Передан в доставку» уже третий день не меняется. Где он вообще?",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Спасибо, что написали. Мы проверили заказ {order}: посылка сейчас находится на сортировочном центре в Подольске, задержка связана с большим потоком отправлений. Ожидаемая дата доставки — послезавтра. Как только статус обновится, Вам придёт СМС с интервалом доставки.\n\nС уважением, {agent}",
            ),
            (Who::Customer, "Понял, спасибо, буду ждать."),
        ],
    },
    Conversation {
        lang: "ru",
        category: "delivery",
        priority: "high",
        subject: "Курьер не приехал!!!",
        turns: &[
            (
                Who::Customer,
                "Курьер так и не приехал!!! Я весь день сидела дома, отпросилась с работы, а в 21:00 приходит смс что доставка перенесена. Заказ {order}. Это как вообще?? Трубку в службе доставки никто не берёт.",
            ),
            (
                Who::Note,
                "Служба доставки подтвердила: курьер не успел по маршруту, заказ не был отмечен как перенесённый вовремя. Договорилась о приоритетной доставке на завтра 10:00–14:00, начислила 500 баллов компенсации.",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Приносим искренние извинения — понимаем, как неприятно потерять целый день. Мы связались со службой доставки и договорились о приоритетной доставке завтра с 10:00 до 14:00, курьер позвонит за час. В качестве компенсации мы начислили Вам 500 бонусных баллов, их можно использовать при следующей покупке.\n\n{agent}, служба поддержки",
            ),
            (
                Who::Customer,
                "Ладно, посмотрим. Если завтра опять не привезут — отменяю заказ.",
            ),
        ],
    },
    Conversation {
        lang: "ru",
        category: "delivery",
        priority: "normal",
        subject: "Изменить адрес доставки",
        turns: &[
            (
                Who::Customer,
                "Добрый день. Можно поменять адрес доставки в заказе {order}? По ошибке остался старый адрес, а нужно: Екатеринбург, ул. Ленина, д. 12, кв. 45.",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Да, заказ ещё не передан в службу доставки, поэтому адрес можно изменить. Мы обновили адрес: Екатеринбург, ул. Ленина, д. 12, кв. 45. Срок доставки не изменится.\n\nХорошего дня! {agent}",
            ),
            (Who::Customer, "Отлично, спасибо большое!"),
        ],
    },
    Conversation {
        lang: "ru",
        category: "delivery",
        priority: "urgent",
        subject: "Привезли разбитый телевизор",
        turns: &[
            (
                Who::Customer,
                "Получил телевизор, заказ {order}, открыл коробку при курьере — экран треснул по диагонали. Курьер уехал, сказал писать вам. Фото прикладываю. Что теперь делать??",
            ),
            (
                Who::Note,
                "Фото повреждений в приложении, коробка тоже с вмятиной — похоже на повреждение при транспортировке. Оформила акт, передала в отдел претензий к перевозчику. Замену согласовал старший смены.",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Очень жаль, что так вышло, и спасибо за фотографии — этого достаточно. Мы оформили акт о повреждении при транспортировке. Вы можете выбрать: замену на новый телевизор (доставим бесплатно в течение 3 дней) или полный возврат средств. Повреждённый телевизор в любом случае заберёт наш курьер, упаковывать его заново не нужно.",
            ),
            (Who::Customer, "Замену, пожалуйста."),
            (
                Who::Agent,
                "Приняли, {name}. Новый телевизор отправим завтра, трек-номер пришлём отдельным письмом. Курьер заберёт повреждённый при доставке нового.\n\n{agent}",
            ),
        ],
    },
    Conversation {
        lang: "ru",
        category: "returns",
        priority: "normal",
        subject: "Не подошёл размер куртки",
        turns: &[
            (
                Who::Customer,
                "Здравствуйте, купила пуховик, размер M оказался маловат в плечах. Можно поменять на L? Бирки не срезала. Заказ {order}",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Конечно. Обмен возможен в течение 14 дней с момента получения, размер L сейчас есть на складе. Оформите, пожалуйста, обмен в личном кабинете: «Мои заказы» → «Обмен и возврат». Курьер привезёт новый пуховик и сразу заберёт старый, доставка бесплатная.\n\n{agent}",
            ),
            (Who::Customer, "Спасибо, оформила!"),
        ],
    },
    Conversation {
        lang: "ru",
        category: "returns",
        priority: "high",
        subject: "Не вернули деньги за возврат",
        turns: &[
            (
                Who::Customer,
                "Вернул кроссовки две недели назад, деньги до сих пор не пришли. Заказ {order}. Сколько можно ждать? Вы же пишете «до 10 дней».",
            ),
            (
                Who::Note,
                "Склад принял возврат 10.03, но заявка на возврат средств зависла в статусе «на проверке». Написала в бухгалтерию, обещали провести сегодня.",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Извините за задержку, это наша ошибка. Возврат на сумму 7 490 ₽ оформлен сегодня, деньги поступят на карту в течение 1–3 рабочих дней в зависимости от Вашего банка. Если к пятнице средства не придут, просто ответьте на это письмо — мы пришлём справку о возврате для банка.\n\n{agent}",
            ),
            (Who::Customer, "Пришли, спасибо."),
        ],
    },
    Conversation {
        lang: "ru",
        category: "returns",
        priority: "low",
        subject: "Можно вернуть блендер?",
        turns: &[
            (
                Who::Customer,
                "Добрый вечер, можно вернуть блендер если я его уже распаковала но не пользовалась? просто передумала, он слишком громоздкий для моей кухни",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Да, можно. Товар надлежащего качества принимается в течение 7 дней после получения, если он не был в употреблении и сохранены товарный вид, упаковка и все комплектующие. Оформить возврат можно в личном кабинете или в любом пункте выдачи. Деньги вернутся тем же способом, которым Вы оплачивали заказ.\n\n{agent}",
            ),
            (Who::Customer, "Поняла, спасибо за быстрый ответ 🙂"),
        ],
    },
    Conversation {
        lang: "ru",
        category: "returns",
        priority: "normal",
        subject: "Отмените заказ",
        turns: &[(
            Who::Customer,
            "отмените пожалуйста заказ {order}, нашла дешевле",
        )],
    },
    Conversation {
        lang: "ru",
        category: "payment",
        priority: "urgent",
        subject: "СРОЧНО! Деньги списали два раза",
        turns: &[
            (
                Who::Customer,
                "СРОЧНО!!! С карты списали деньги ДВА РАЗА за один заказ {order}, 2 × 34 990 ₽! У меня теперь на карте ноль, а завтра платить за квартиру. Верните немедленно!",
            ),
            (
                Who::Note,
                "В платёжном шлюзе две авторизации с разницей 40 секунд, вторая — дубль из-за повторного нажатия «Оплатить» при зависшей странице. Отменила вторую авторизацию, эскалирую в финотдел для контроля.",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Понимаем Ваше беспокойство. Мы проверили: вторая операция — это блокировка средств (холд), а не окончательное списание. Мы уже отменили её со своей стороны, банк снимет блокировку в течение 1–5 рабочих дней, обычно быстрее. Если Вам нужно подтверждение для банка, мы можем прислать письмо об отмене операции.\n\n{agent}",
            ),
            (
                Who::Customer,
                "Пришлите письмо, пожалуйста. Позвоню в банк.",
            ),
            (
                Who::Agent,
                "Отправили письмо об отмене операции на Вашу почту, {name}. Если будут вопросы от банка — пишите, поможем.",
            ),
        ],
    },
    Conversation {
        lang: "ru",
        category: "payment",
        priority: "normal",
        subject: "Промокод не работает",
        turns: &[
            (
                Who::Customer,
                "промокод VESNA10 не применяется, пишет «недействителен». акция же до конца месяца??",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Промокод VESNA10 действует до 31 марта, но только на товары категории «Одежда» без скидки. В Вашей корзине два товара из раздела «Распродажа» — из-за них промокод не применяется. Если оформить их отдельным заказом, скидка 10% сработает на остальные товары.\n\n{agent}",
            ),
            (Who::Customer, "А, понятно. Спасибо"),
        ],
    },
    Conversation {
        lang: "ru",
        category: "payment",
        priority: "normal",
        subject: "Счёт на оплату для юрлица",
        turns: &[
            (
                Who::Customer,
                "Добрый день! Хотим оплатить заказ {order} от организации по безналичному расчёту. Можете выставить счёт на ООО «Ромашка», ИНН 7701234567? Также понадобятся закрывающие документы (УПД).",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Счёт на ООО «Ромашка» сформирован и отправлен на Вашу почту. Товар зарезервирован на 3 рабочих дня с момента выставления счёта. УПД передадим вместе с заказом, а также продублируем через ЭДО, если Ваша организация к нему подключена.\n\n{agent}",
            ),
            (
                Who::Customer,
                "Получили, спасибо. Оплатим сегодня, ЭДО есть — Диадок.",
            ),
        ],
    },
    Conversation {
        lang: "ru",
        category: "payment",
        priority: "high",
        subject: "Не проходит оплата картой",
        turns: &[
            (
                Who::Customer,
                "не могу оплатить картой мир, выдаёт ошибку 3DS. пробовал 3 раза, деньги не списались. заказ {order} сгорит же?",
            ),
            (
                Who::Note,
                "По логам эквайринга банк-эмитент отклоняет 3DS-проверку (код 05), с нашей стороны всё ок. Продлила резерв заказа на 48 часов.",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Ошибку возвращает банк, выпустивший карту, при проверке 3D-Secure — с нашей стороны платёж не блокируется. Попробуйте, пожалуйста, оплатить через СБП или другой картой. Мы продлили резерв заказа {order} на 48 часов, так что товар никуда не денется.\n\n{agent}",
            ),
            (Who::Customer, "Через СБП прошло. Спасибо что продлили"),
        ],
    },
    Conversation {
        lang: "ru",
        category: "technical",
        priority: "normal",
        subject: "Приложение вылетает после обновления",
        turns: &[
            (
                Who::Customer,
                "После обновления приложение вылетает сразу при открытии. Айфон 12, iOS 17.4. Переустанавливала — не помогает.",
            ),
            (
                Who::Note,
                "Известная проблема версии 5.2.0 на iOS 17.4, фикс в 5.2.1 — релиз в четверг. Тикет DEV-4812, добавила клиента в список для уведомления.",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Спасибо за подробное описание. Это известная ошибка текущей версии приложения на iOS 17.4, исправление выйдет в ближайшем обновлении в четверг. Пока можно оформлять заказы на сайте — корзина и бонусы там те же. Приносим извинения за неудобства!\n\n{agent}",
            ),
        ],
    },
    Conversation {
        lang: "ru",
        category: "technical",
        priority: "normal",
        subject: "Не нажимается кнопка «Оформить заказ»",
        turns: &[(
            Who::Customer,
            "На сайте не могу оформить заказ — кнопка «Оформить» серая и не нажимается. Адрес заполнил, оплату выбрал. Браузер Яндекс, компьютер. Что не так?",
        )],
    },
    Conversation {
        lang: "ru",
        category: "technical",
        priority: "low",
        subject: "Корзина очищается сама",
        turns: &[
            (
                Who::Customer,
                "Добрый день. Каждый раз когда захожу с телефона, корзина пустая, хотя с компьютера добавляла товары. Это баг?",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Корзина синхронизируется между устройствами, только если Вы вошли в один и тот же аккаунт. Судя по всему, на телефоне Вы сейчас не авторизованы. Войдите, пожалуйста, по тому же номеру телефона, что и на компьютере, — товары появятся в корзине.\n\n{agent}",
            ),
            (Who::Customer, "Точно, не вошла. Спасибо!"),
        ],
    },
    Conversation {
        lang: "ru",
        category: "technical",
        priority: "normal",
        subject: "Робот-пылесос не подключается к Wi-Fi",
        turns: &[
            (
                Who::Customer,
                "Купил робот-пылесос, через ваше приложение «Умный дом» не подключается к Wi-Fi. Доходит до 80% и пишет «Ошибка сети». Роутер рядом.",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Чаще всего причина в том, что роутер раздаёт сеть только на частоте 5 ГГц, а пылесос работает с 2,4 ГГц. Проверьте, пожалуйста, в настройках роутера, включена ли сеть 2,4 ГГц, и подключите телефон к ней на время настройки. Также в имени сети и пароле не должно быть кириллицы.\n\n{agent}",
            ),
            (
                Who::Customer,
                "Да, дело было в 5 ГГц. Подключился, спасибо!",
            ),
        ],
    },
    Conversation {
        lang: "ru",
        category: "account",
        priority: "high",
        subject: "Не приходит СМС с кодом",
        turns: &[
            (
                Who::Customer,
                "Не могу войти в личный кабинет, код из СМС не приходит уже час. Запрашивал раз десять. Номер правильный.",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Из-за частых запросов система временно ограничила отправку кодов на Ваш номер — блокировка снимется автоматически через час. Чтобы не ждать, выберите на странице входа «Получить код на почту». Также проверьте, не включена ли у Вас у оператора блокировка СМС с коротких номеров.\n\n{agent}",
            ),
            (Who::Customer, "На почту пришёл, вошёл. Спасибо."),
        ],
    },
    Conversation {
        lang: "ru",
        category: "account",
        priority: "low",
        subject: "Удалить аккаунт",
        turns: &[
            (
                Who::Customer,
                "Прошу удалить мой аккаунт и все персональные данные.",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Мы можем удалить аккаунт и персональные данные в течение 30 дней. Обратите внимание: вместе с аккаунтом сгорят накопленные бонусы (сейчас их 1 240) и история заказов. Данные, которые мы обязаны хранить по закону (например, сведения о покупках для налоговой), сохранятся в обезличенном виде. Подтвердите, пожалуйста, что хотите продолжить.\n\n{agent}",
            ),
            (Who::Customer, "Подтверждаю."),
            (
                Who::Agent,
                "Спасибо, {name}. Заявка на удаление принята, по завершении мы пришлём уведомление на почту.",
            ),
        ],
    },
    Conversation {
        lang: "ru",
        category: "account",
        priority: "normal",
        subject: "Смена номера телефона",
        turns: &[
            (
                Who::Customer,
                "Здравствуйте, поменял номер телефона, старая сим-карта уже не работает. Как привязать аккаунт к новому номеру? Зайти не могу, код приходит на старый.",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Войдите, пожалуйста, по коду на почту — в форме входа выберите «Другой способ». Затем в профиле откройте «Личные данные» → «Телефон» и укажите новый номер, мы пришлём на него код подтверждения. Если доступа к почте тоже нет, напишите, какие последние заказы Вы оформляли, — мы проверим личность и сменим номер вручную.\n\n{agent}",
            ),
        ],
    },
    Conversation {
        lang: "ru",
        category: "account",
        priority: "urgent",
        subject: "ВЗЛОМАЛИ АККАУНТ",
        turns: &[
            (
                Who::Customer,
                "Кто-то зашёл в мой аккаунт и оформил заказ на чужой адрес!!! Я ничего не заказывала, а бонусы все списаны. Сделайте что-нибудь СРОЧНО",
            ),
            (
                Who::Note,
                "Вход из другого региона вчера в 23:40, сменён адрес по умолчанию. Заказ {order} отменён до отгрузки, все сессии сброшены, бонусы вернула. Передала в службу безопасности, тикет SEC-219.",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Мы успели отменить заказ {order} до отгрузки со склада — товар никуда не уехал, деньги и бонусы возвращены. Мы завершили все активные сессии в Вашем аккаунте. Пожалуйста, смените пароль от почты, привязанной к аккаунту, и включите вход с подтверждением по СМС в настройках безопасности. Наша служба безопасности проверит этот случай.\n\n{agent}",
            ),
            (
                Who::Customer,
                "Спасибо огромное, я так испугалась. Пароль сменила.",
            ),
        ],
    },
    Conversation {
        lang: "ru",
        category: "product",
        priority: "normal",
        subject: "Гарантия на ноутбук",
        turns: &[
            (
                Who::Customer,
                "Добрый день. Ноутбук, купленный у вас 8 месяцев назад, перестал заряжаться — индикатор не горит, другим зарядником тоже не заряжается. Гарантия ведь год? Что делать?",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Да, гарантия на этот ноутбук — 12 месяцев, случай гарантийный. Вы можете сдать его в любой наш пункт выдачи или в авторизованный сервисный центр производителя — чек не обязателен, заказ {order} есть в Вашем личном кабинете. Срок диагностики и ремонта — до 45 дней, обычно 10–14.\n\n{agent}",
            ),
            (Who::Customer, "Сдам в пункт выдачи, спасибо."),
        ],
    },
    Conversation {
        lang: "ru",
        category: "product",
        priority: "high",
        subject: "Фен сломался через неделю",
        turns: &[
            (
                Who::Customer,
                "Фен сломался через неделю!!! Щёлкнуло и перестал включаться, запахло горелым. За 9 тысяч такое качество?? Больше ничего у вас не куплю",
            ),
            (
                Who::Note,
                "По этой модели за месяц уже 4 похожих обращения. Сообщила категорийному менеджеру, вопрос о партии поставщику.",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Приносим извинения — так быть не должно. Пожалуйста, не включайте фен больше, запах гари — повод прекратить использование. Поскольку с покупки прошло меньше 15 дней, Вы вправе сразу выбрать замену или возврат денег без ремонта. Курьер заберёт фен бесплатно в удобный для Вас день.\n\n{agent}",
            ),
            (
                Who::Customer,
                "Верните деньги. Завтра после 18 могу отдать.",
            ),
            (
                Who::Agent,
                "Оформили возврат, {name}. Курьер приедет завтра с 18:00 до 21:00, деньги вернутся на карту после того, как он заберёт фен.",
            ),
        ],
    },
    Conversation {
        lang: "ru",
        category: "product",
        priority: "low",
        subject: "Подарочная упаковка",
        turns: &[
            (
                Who::Customer,
                "Здравствуйте! Можно ли добавить подарочную упаковку и открытку к заказу {order}? Это подарок маме на юбилей, хочется красиво.",
            ),
            (
                Who::Agent,
                "Здравствуйте, {name}! Конечно. Подарочная упаковка с открыткой стоит 199 ₽, мы добавили её к заказу {order}. Напишите, пожалуйста, текст для открытки — мы подпишем её от руки. Чек в коробку класть не будем.\n\n{agent}",
            ),
            (
                Who::Customer,
                "«Любимой мамочке с юбилеем! Будь всегда счастлива». Спасибо Вам!",
            ),
        ],
    },
    Conversation {
        lang: "ru",
        category: "product",
        priority: "low",
        subject: "Подойдёт ли чехол?",
        turns: &[(
            Who::Customer,
            "Подскажите, подойдёт ли этот чехол к Samsung Galaxy A54? В описании написано только A53, а размеры вроде похожие.",
        )],
    },
    // ------------------------------------------------------------------
    // English
    // ------------------------------------------------------------------
    Conversation {
        lang: "en",
        category: "delivery",
        priority: "normal",
        subject: "Where is my order?",
        turns: &[
            (
                Who::Customer,
                "Hi, I ordered a phone case and a charger last Monday (order {order}) and the tracking hasn't updated since Wednesday. Any idea where it is?",
            ),
            (
                Who::Agent,
                "Hi {name}, thanks for reaching out! I've checked order {order}: the parcel is at the regional hub in Leeds and is scheduled for delivery tomorrow. The tracking page sometimes lags a day behind, so don't worry if it doesn't update straight away.\n\nBest,\n{agent}",
            ),
            (Who::Customer, "Great, thanks!"),
        ],
    },
    Conversation {
        lang: "en",
        category: "delivery",
        priority: "urgent",
        subject: "Marked as delivered but NOT received",
        turns: &[
            (
                Who::Customer,
                "Tracking says my parcel was delivered at 2:14pm and signed for. I was HOME ALL DAY. Nobody knocked, nothing on the doorstep, nothing with the neighbours. This is a £600 laptop. Order {order}. What are you going to do about it??",
            ),
            (
                Who::Note,
                "Courier GPS shows the drop-off two streets away (No. 14 Elm Close instead of Elm Road). Opened a claim with DPD, ref C-55812. Warehouse has stock for a replacement if the claim isn't resolved in 48h.",
            ),
            (
                Who::Agent,
                "Hi {name}, I'm really sorry, I completely understand how stressful this is. I've looked into it: the courier's GPS shows the parcel was left at a different address nearby, so this is clearly a delivery error and not your responsibility. I've opened an investigation with the courier. If they can't recover the parcel within 48 hours, we'll send you a replacement laptop by next-day delivery at no cost. I'll update you either way.\n\n{agent}",
            ),
            (
                Who::Customer,
                "OK. Please keep me posted, I need it for work on Monday.",
            ),
            (
                Who::Agent,
                "Quick update, {name}: the courier has recovered the parcel and it's out for delivery to you this afternoon. You'll get a text with a one-hour window.",
            ),
            (Who::Customer, "Got it, finally. Thanks for sorting it out."),
        ],
    },
    Conversation {
        lang: "en",
        category: "delivery",
        priority: "normal",
        subject: "Change delivery address",
        turns: &[
            (
                Who::Customer,
                "Hello, I need to change the delivery address on order {order}, I'll be at my parents' place next week. New address: 27 Mill Lane, Harrogate HG1 4PL.",
            ),
            (
                Who::Agent,
                "Hi {name}! No problem, the order hasn't left our warehouse yet, so I've updated the address to 27 Mill Lane, Harrogate HG1 4PL. The delivery date stays the same. Have a lovely week!\n\n{agent}",
            ),
        ],
    },
    Conversation {
        lang: "en",
        category: "delivery",
        priority: "low",
        subject: "Paid for express, came in 4 days",
        turns: &[
            (
                Who::Customer,
                "hi, i paid £6.99 for next day delivery and it took 4 days. not the end of the world but can i get the shipping fee back?",
            ),
            (
                Who::Agent,
                "Hi {name}, sorry about that, you're absolutely right. I've refunded the £6.99 express shipping fee to your original payment method; it should show up within 3-5 working days.\n\nCheers,\n{agent}",
            ),
            (Who::Customer, "appreciate it, thanks"),
        ],
    },
    Conversation {
        lang: "en",
        category: "returns",
        priority: "normal",
        subject: "Jeans too small - exchange?",
        turns: &[
            (
                Who::Customer,
                "Hi there, the jeans I ordered (W32) run really small. Can I swap them for a W34? Tags are still on. Order {order}.",
            ),
            (
                Who::Agent,
                "Hi {name}, of course! You can exchange within 30 days. W34 is in stock, so just go to My Orders, choose Return or exchange and select W34. We'll email you a free returns label, and the new pair ships as soon as the courier scans your parcel.\n\n{agent}",
            ),
            (Who::Customer, "Done, thank you!"),
        ],
    },
    Conversation {
        lang: "en",
        category: "returns",
        priority: "high",
        subject: "STILL no refund",
        turns: &[
            (
                Who::Customer,
                "I returned my order 3 weeks ago. Tracking shows you received it on the 4th. STILL no refund. This is the third time I'm writing. Order {order}.",
            ),
            (
                Who::Note,
                "Return was received but stuck in QC queue, nobody processed it. Approved manually and pushed refund of £84.50. Also flagged the QC backlog to the returns team lead.",
            ),
            (
                Who::Agent,
                "Hi {name}, I'm sorry you've had to chase this, that's not the service we want to give. Your return was received but wasn't processed on our side. I've now issued the full refund of £84.50; depending on your bank it will appear within 2-5 working days. I've also added a £10 voucher to your account for the trouble.\n\n{agent}",
            ),
            (Who::Customer, "Thanks, that's all I wanted."),
        ],
    },
    Conversation {
        lang: "en",
        category: "returns",
        priority: "high",
        subject: "Wrong item sent",
        turns: &[
            (
                Who::Customer,
                "I ordered the grey linen cushion covers (set of 4) and received two bright orange velvet ones instead. Need the right ones before Saturday, we have guests. Order {order}",
            ),
            (
                Who::Note,
                "Picking error: neighbouring SKUs HL-2231 / HL-2213. Sent the correct item with priority shipping, return label for the wrong item created.",
            ),
            (
                Who::Agent,
                "Hi {name}, apologies for the mix-up, that was a picking error in our warehouse. I've sent the correct grey linen set by priority delivery, arriving Friday. I've emailed you a prepaid label for the orange covers; there's no rush to send them back.\n\n{agent}",
            ),
        ],
    },
    Conversation {
        lang: "en",
        category: "returns",
        priority: "normal",
        subject: "Cancel order",
        turns: &[
            (
                Who::Customer,
                "please cancel order {order}, ordered the wrong colour by mistake",
            ),
            (
                Who::Agent,
                "Hi {name}, done! Order {order} is cancelled and you haven't been charged; the pending authorisation will drop off your card within a few days. Feel free to place a new order with the right colour.\n\n{agent}",
            ),
            (Who::Customer, "thx"),
        ],
    },
    Conversation {
        lang: "en",
        category: "payment",
        priority: "urgent",
        subject: "Charged twice!!",
        turns: &[
            (
                Who::Customer,
                "You've charged my card TWICE for the same order ({order}) - £329.99 x2. I'm now overdrawn. Fix this immediately please!!",
            ),
            (
                Who::Note,
                "Two captures in Stripe 30s apart, the second caused by a retry after a gateway timeout. Refunded the duplicate charge (re_3Pq...), escalated to finance to check other orders in the same window.",
            ),
            (
                Who::Agent,
                "Hi {name}, I'm very sorry. I've confirmed a duplicate charge caused by a technical error during checkout and refunded the second £329.99 straight away. Refunds usually take 3-5 working days to reach your account. If your bank charges you an overdraft fee because of this, send us the statement and we'll cover it.\n\n{agent}",
            ),
            (
                Who::Customer,
                "OK thank you for the quick response, I'll keep an eye on it.",
            ),
        ],
    },
    Conversation {
        lang: "en",
        category: "payment",
        priority: "normal",
        subject: "Promo code not working",
        turns: &[
            (
                Who::Customer,
                "The code WELCOME15 from your newsletter says invalid. I just signed up yesterday??",
            ),
            (
                Who::Agent,
                "Hi {name}! WELCOME15 works on your first order only and needs a minimum basket of £40. Your current basket is £36.50, so if you add one more item the code will apply. Hope that helps!\n\n{agent}",
            ),
            (Who::Customer, "Ah, got it. Worked, thanks"),
        ],
    },
    Conversation {
        lang: "en",
        category: "payment",
        priority: "normal",
        subject: "VAT invoice for my company",
        turns: &[
            (
                Who::Customer,
                "Good morning, I bought two monitors for our office (order {order}). Could you issue a VAT invoice addressed to Brightline Studio Ltd, 14 Canal Street, Manchester M1 3HE, VAT no. GB123456789?",
            ),
            (
                Who::Agent,
                "Good morning {name}, of course. I've generated a VAT invoice for Brightline Studio Ltd with the details you provided and sent it to your email as a PDF. You can also download it any time from My Orders.\n\nKind regards,\n{agent}",
            ),
            (Who::Customer, "Received, many thanks."),
        ],
    },
    Conversation {
        lang: "en",
        category: "payment",
        priority: "low",
        subject: "Pay in instalments?",
        turns: &[(
            Who::Customer,
            "Hi, is it possible to split the payment for the coffee machine into 3 instalments? I don't see the option at checkout.",
        )],
    },
    Conversation {
        lang: "en",
        category: "technical",
        priority: "high",
        subject: "App crashes at checkout",
        turns: &[
            (
                Who::Customer,
                "Your app crashes every time I tap Pay. Pixel 7, Android 14, latest version. Tried reinstalling. I want to order before the sale ends tonight!",
            ),
            (
                Who::Note,
                "Reproduced on Android 14 with Google Pay as default method. Known issue APP-1187, hotfix 3.14.2 in review. Workaround: pick card payment manually.",
            ),
            (
                Who::Agent,
                "Hi {name}, thanks for the details, they helped us reproduce it. It's a bug that affects Google Pay on Android 14, and a fix is already in review with Google Play. In the meantime, please choose Card at checkout instead of Google Pay, and the app won't crash. If you'd rather use the website, the sale prices are valid there too until midnight.\n\n{agent}",
            ),
            (Who::Customer, "Card worked. Thanks for the quick help!"),
        ],
    },
    Conversation {
        lang: "en",
        category: "technical",
        priority: "low",
        subject: "Images not loading on website",
        turns: &[(
            Who::Customer,
            "product pictures dont load on your site for me, just grey boxes. firefox on mac. everything else works",
        )],
    },
    Conversation {
        lang: "en",
        category: "technical",
        priority: "normal",
        subject: "Smart bulb won't pair",
        turns: &[
            (
                Who::Customer,
                "Hi, I bought a 3-pack of your smart bulbs. Two paired fine but the third one just keeps blinking and the app says Device not found. Already tried turning it off and on.",
            ),
            (
                Who::Agent,
                "Hi {name}, let's get that third bulb working. Please reset it: switch it off and on 5 times in a row (on for about 1 second each time) until it flashes quickly. Then in the app tap Add device and keep your phone within 2 metres of the bulb. Also make sure your phone is on a 2.4 GHz Wi-Fi network during setup.\n\n{agent}",
            ),
            (
                Who::Customer,
                "The reset did it, all three working now. Thank you!",
            ),
        ],
    },
    Conversation {
        lang: "en",
        category: "technical",
        priority: "low",
        subject: "No order confirmation email",
        turns: &[
            (
                Who::Customer,
                "Hey, I placed an order an hour ago but never got a confirmation email. Did it go through? Checked spam.",
            ),
            (
                Who::Agent,
                "Hi {name}, yes, your order {order} went through and payment was successful. It looks like there's a typo in the email address on your account (gmial.com instead of gmail.com). I've resent the confirmation; you can correct the address under Account settings so future emails reach you.\n\n{agent}",
            ),
            (Who::Customer, "Haha oops. Fixed, thanks!"),
        ],
    },
    Conversation {
        lang: "en",
        category: "account",
        priority: "high",
        subject: "Can't log in - reset link expired",
        turns: &[
            (
                Who::Customer,
                "I can't log in. Every password reset link I get says it has expired, even when I click it right away. I've tried 4 times.",
            ),
            (
                Who::Agent,
                "Hi {name}, sorry for the hassle. Each new reset request invalidates the previous links, so if several emails arrived, only the most recent one works. Please request one more reset, wait a minute, and use only the newest email. If your email app opens links in a preview, try copying the link into your browser instead.\n\n{agent}",
            ),
            (Who::Customer, "Copying the link worked. I'm in, thanks."),
        ],
    },
    Conversation {
        lang: "en",
        category: "account",
        priority: "low",
        subject: "Delete my account",
        turns: &[
            (
                Who::Customer,
                "Please delete my account and all my data under GDPR.",
            ),
            (
                Who::Agent,
                "Hi {name}, we've received your erasure request. We'll delete your account and personal data within 30 days. Some order records have to be kept for tax purposes, but they will no longer be linked to your profile. Please note that any store credit on the account (currently £12.00) will be lost. Reply to confirm and we'll proceed.\n\n{agent}",
            ),
            (Who::Customer, "Confirmed. Go ahead."),
        ],
    },
    Conversation {
        lang: "en",
        category: "account",
        priority: "normal",
        subject: "Change email address on account",
        turns: &[
            (
                Who::Customer,
                "Hello, I'm leaving my job and want to switch my account email from my work address to my personal one. How do I do that?",
            ),
            (
                Who::Agent,
                "Hi {name}, you can change it under Account settings, then Email address. We'll send a confirmation link to the new address and a notification to the old one. Once you click the link, all order emails will go to your personal address. Your order history and loyalty points stay as they are.\n\n{agent}",
            ),
        ],
    },
    Conversation {
        lang: "en",
        category: "account",
        priority: "urgent",
        subject: "Someone changed my password",
        turns: &[
            (
                Who::Customer,
                "I just got an email saying my password was changed. IT WASN'T ME. I have a saved card on the account. Please lock it NOW.",
            ),
            (
                Who::Note,
                "Login from unknown IP in another country 10 min before the change. Account locked, all sessions revoked, saved card removed, no new orders placed. Forwarded to security, ticket SEC-774.",
            ),
            (
                Who::Agent,
                "Hi {name}, thank you for telling us so quickly. I've locked your account, signed out every device and removed the saved card. No orders were placed. I've sent a secure reset link to your email; please also change your email password, since that's usually how these takeovers happen. Once you've reset your password, we recommend turning on two-step verification.\n\n{agent}",
            ),
            (
                Who::Customer,
                "Thank you, done both. Really appreciate how fast you were.",
            ),
        ],
    },
    Conversation {
        lang: "en",
        category: "product",
        priority: "high",
        subject: "Earbuds broke after a week",
        turns: &[
            (
                Who::Customer,
                "Left earbud stopped working after 8 days. Completely dead, won't charge in the case. Pretty disappointing for £129.",
            ),
            (
                Who::Note,
                "Serial in the faulty batch list (HX-Pro, March batch). Approve replacement without inspection.",
            ),
            (
                Who::Agent,
                "Hi {name}, I'm sorry to hear that, it definitely shouldn't happen after a week. Since it's within 30 days, we'll replace the whole set rather than repair it. I've emailed you a prepaid return label, and we'll dispatch the new earbuds as soon as the courier picks up the old ones. No need to wait for us to receive them.\n\n{agent}",
            ),
            (Who::Customer, "That's fair, thank you."),
        ],
    },
    Conversation {
        lang: "en",
        category: "product",
        priority: "normal",
        subject: "Warranty claim - blender",
        turns: &[
            (
                Who::Customer,
                "Hi, my blender (bought from you about 10 months ago) has started making a grinding noise and now the blade won't spin. Is this covered under warranty?",
            ),
            (
                Who::Agent,
                "Hi {name}, yes, it's covered by the 2-year manufacturer warranty. I've registered a claim with the manufacturer under order {order}. A courier will collect the blender and you'll get a repaired or replacement unit, usually within 10 working days. You'll receive an email to choose a collection date.\n\n{agent}",
            ),
            (Who::Customer, "Perfect, thanks."),
        ],
    },
    Conversation {
        lang: "en",
        category: "product",
        priority: "low",
        subject: "Gift wrapping + note",
        turns: &[
            (
                Who::Customer,
                "Hi! Is it possible to gift wrap order {order} and add a little note? It's going straight to my sister for her birthday.",
            ),
            (
                Who::Agent,
                "Hi {name}, absolutely! Gift wrapping is £3.50 and includes a handwritten card. I've added it to your order. Just reply with the message you'd like on the card. We also won't include the receipt or prices in the parcel.\n\n{agent}",
            ),
            (
                Who::Customer,
                "Please write: Happy birthday Kate, love you loads! Thank you so much!",
            ),
        ],
    },
    Conversation {
        lang: "en",
        category: "product",
        priority: "low",
        subject: "Is this jacket waterproof?",
        turns: &[(
            Who::Customer,
            "Is the Trailhead jacket actually waterproof or just water resistant? Description doesnt say and I'm going hiking in Scotland",
        )],
    },
    // ------------------------------------------------------------------
    // Thai
    // ------------------------------------------------------------------
    Conversation {
        lang: "th",
        category: "delivery",
        priority: "normal",
        subject: "พัสดุยังไม่ถึงเลยค่ะ",
        turns: &[
            (
                Who::Customer,
                "สวัสดีค่ะ สั่งหม้อหุงข้าวไปตั้งแต่วันจันทร์ เลขคำสั่งซื้อ {order} สถานะขึ้นว่าอยู่ระหว่างจัดส่งมาสามวันแล้วค่ะ ไม่ทราบว่าจะได้รับประมาณวันไหนคะ",
            ),
            (
                Who::Agent,
                "สวัสดีค่ะคุณ{name} ขอบคุณที่ติดต่อเข้ามานะคะ ตรวจสอบแล้วพัสดุของคำสั่งซื้อ {order} อยู่ที่ศูนย์คัดแยกสินค้าบางนา คาดว่าจะจัดส่งถึงคุณ{name}ภายในวันพรุ่งนี้ค่ะ เมื่อพัสดุออกจัดส่งแล้วระบบจะส่ง SMS แจ้งอีกครั้งนะคะ\n\n{agent} ฝ่ายบริการลูกค้า",
            ),
            (Who::Customer, "โอเคค่ะ ขอบคุณมากค่ะ"),
        ],
    },
    Conversation {
        lang: "th",
        category: "delivery",
        priority: "high",
        subject: "รอทั้งวันไม่มีคนมาส่ง!!",
        turns: &[
            (
                Who::Customer,
                "รอทั้งวันไม่มีใครมาส่งเลย!! โทรหาเบอร์พนักงานส่งก็ไม่รับ ลางานมารอรับของนะคะ คำสั่งซื้อ {order} จะเอายังไงคะเนี่ย",
            ),
            (
                Who::Note,
                "เช็กกับขนส่งแล้ว พนักงานส่งประจำสายลาป่วยกะทันหัน พัสดุยังค้างที่สาขาลาดพร้าว ขอให้ส่งด่วนรอบเช้าพรุ่งนี้แล้ว และเพิ่มคูปองขอโทษ 100 บาทให้ลูกค้า",
            ),
            (
                Who::Agent,
                "ต้องขออภัยเป็นอย่างสูงครับคุณ{name} ที่ทำให้เสียเวลารอ ทางเราได้ประสานกับบริษัทขนส่งแล้ว พัสดุของคุณ{name}จะถูกจัดส่งเป็นรอบแรกช่วงเช้าพรุ่งนี้ ระหว่าง 9:00–12:00 น. ครับ และเพื่อเป็นการขออภัย ทางเราได้มอบคูปองส่วนลด 100 บาทไว้ในบัญชีของคุณ{name}แล้วครับ\n\n{agent}",
            ),
            (Who::Customer, "ค่ะ พรุ่งนี้ต้องมาจริงๆนะคะ"),
        ],
    },
    Conversation {
        lang: "th",
        category: "delivery",
        priority: "normal",
        subject: "ขอเปลี่ยนที่อยู่จัดส่ง",
        turns: &[
            (
                Who::Customer,
                "สวัสดีครับ ขอเปลี่ยนที่อยู่จัดส่งของคำสั่งซื้อ {order} เป็นที่ทำงานได้ไหมครับ ที่อยู่ใหม่ 99/12 อาคารสาทรทาวเวอร์ ชั้น 15 ถนนสาทรใต้ แขวงยานนาวา เขตสาทร กรุงเทพฯ 10120",
            ),
            (
                Who::Agent,
                "สวัสดีค่ะคุณ{name} คำสั่งซื้อ {order} ยังไม่ได้ส่งออกจากคลังสินค้า จึงสามารถเปลี่ยนที่อยู่ได้ค่ะ ตอนนี้แก้ไขที่อยู่จัดส่งให้เรียบร้อยแล้วนะคะ เนื่องจากเป็นที่อยู่สำนักงาน รบกวนคุณ{name}แจ้งเบอร์โทรที่ติดต่อได้ในเวลาทำการด้วยค่ะ\n\n{agent}",
            ),
            (Who::Customer, "เบอร์ 081-234-5678 ครับ ขอบคุณครับ"),
        ],
    },
    Conversation {
        lang: "th",
        category: "returns",
        priority: "normal",
        subject: "เสื้อไซซ์เล็กไป ขอเปลี่ยนไซซ์",
        turns: &[
            (
                Who::Customer,
                "สวัสดีค่ะ ได้รับเสื้อเชิ้ตแล้ว แต่ไซซ์ S เล็กไปหน่อย อยากเปลี่ยนเป็นไซซ์ M ได้ไหมคะ ยังไม่ได้ตัดป้ายเลยค่ะ คำสั่งซื้อ {order}",
            ),
            (
                Who::Agent,
                "สวัสดีค่ะคุณ{name} สามารถเปลี่ยนไซซ์ได้ภายใน 14 วันนับจากวันที่ได้รับสินค้าค่ะ ตอนนี้ไซซ์ M ยังมีสินค้าอยู่ รบกวนคุณ{name}กดขอเปลี่ยนสินค้าในหน้า “คำสั่งซื้อของฉัน” แล้วแพ็กสินค้าพร้อมป้ายให้เรียบร้อย พนักงานจะไปรับสินค้าถึงบ้านและนำตัวใหม่ไปส่งให้โดยไม่มีค่าใช้จ่ายค่ะ\n\n{agent}",
            ),
            (Who::Customer, "ทำเรียบร้อยแล้วค่ะ ขอบคุณค่ะ"),
        ],
    },
    Conversation {
        lang: "th",
        category: "returns",
        priority: "high",
        subject: "คืนสินค้าไปสองอาทิตย์แล้วยังไม่ได้เงินคืน",
        turns: &[
            (
                Who::Customer,
                "ส่งคืนรองเท้าไปตั้งแต่สองอาทิตย์ก่อน ยังไม่ได้เงินคืนเลยครับ คำสั่งซื้อ {order} ช่วยตามเรื่องให้หน่อยครับ",
            ),
            (
                Who::Note,
                "คลังรับสินค้าคืนแล้วตั้งแต่วันที่ 3 แต่รายการคืนเงินค้างสถานะรออนุมัติ ส่งต่อให้ฝ่ายบัญชีอนุมัติด่วนแล้ว",
            ),
            (
                Who::Agent,
                "สวัสดีค่ะคุณ{name} ขออภัยในความล่าช้านะคะ ตรวจสอบแล้วคลังสินค้าได้รับรองเท้าคืนเรียบร้อยแล้ว และทางเราได้ดำเนินการคืนเงินจำนวน 2,490 บาทเข้าบัตรเครดิตของคุณ{name}ในวันนี้ค่ะ ยอดเงินจะเข้าภายใน 7–14 วันทำการ ขึ้นอยู่กับรอบบัญชีของธนาคารค่ะ\n\n{agent}",
            ),
            (Who::Customer, "ครับ ขอบคุณครับ"),
        ],
    },
    Conversation {
        lang: "th",
        category: "returns",
        priority: "low",
        subject: "ขอยกเลิกคำสั่งซื้อ",
        turns: &[(
            Who::Customer,
            "ขอยกเลิกออเดอร์ {order} ค่ะ กดสั่งซ้ำไปโดยไม่ได้ตั้งใจ",
        )],
    },
    Conversation {
        lang: "th",
        category: "payment",
        priority: "urgent",
        subject: "โดนตัดเงินซ้ำสองครั้ง ด่วนค่ะ",
        turns: &[
            (
                Who::Customer,
                "ด่วนมากค่ะ!!! โดนตัดเงินสองรอบ รอบละ 15,990 บาท ทั้งที่สั่งไปแค่ออเดอร์เดียว {order} ช่วยคืนเงินด่วนเลยค่ะ วงเงินในบัตรไม่พอใช้แล้ว",
            ),
            (
                Who::Note,
                "ในระบบชำระเงินมีการอนุมัติสองรายการห่างกัน 30 วินาที รายการที่สองเกิดจากลูกค้ากดชำระซ้ำตอนหน้าเว็บค้าง ยกเลิกรายการที่สองแล้ว ส่งเรื่องต่อฝ่ายการเงินเพื่อติดตาม",
            ),
            (
                Who::Agent,
                "สวัสดีค่ะคุณ{name} ต้องขออภัยเป็นอย่างยิ่งค่ะ ตรวจสอบแล้วพบว่ามีการตัดเงินซ้ำจริง ทางเราได้ยกเลิกรายการที่สองเรียบร้อยแล้วค่ะ ยอดเงิน 15,990 บาทจะคืนเข้าบัตรภายใน 3–7 วันทำการ หากเกินกำหนดแล้วยังไม่ได้รับ แจ้งเข้ามาได้ทันทีนะคะ\n\n{agent}",
            ),
            (Who::Customer, "ขอบคุณค่ะ จะรอดูนะคะ"),
        ],
    },
    Conversation {
        lang: "th",
        category: "payment",
        priority: "normal",
        subject: "ใส่โค้ดส่วนลดแล้วใช้ไม่ได้",
        turns: &[
            (
                Who::Customer,
                "ใส่โค้ด NEWYEAR200 แล้วขึ้นว่าโค้ดไม่ถูกต้องครับ ทั้งที่เพิ่งได้รับอีเมลเมื่อวานเอง",
            ),
            (
                Who::Agent,
                "สวัสดีครับคุณ{name} โค้ด NEWYEAR200 ใช้ได้กับยอดสั่งซื้อขั้นต่ำ 1,500 บาทครับ ตอนนี้ยอดในตะกร้าของคุณ{name}อยู่ที่ 1,290 บาท หากเพิ่มสินค้าให้ครบยอดขั้นต่ำ ระบบจะใช้โค้ดได้ทันทีครับ\n\n{agent}",
            ),
            (Who::Customer, "อ๋อ เข้าใจแล้วครับ ขอบคุณครับ"),
        ],
    },
    Conversation {
        lang: "th",
        category: "payment",
        priority: "normal",
        subject: "ขอใบกำกับภาษีในนามบริษัท",
        turns: &[
            (
                Who::Customer,
                "สวัสดีค่ะ สั่งซื้อจอคอมพิวเตอร์ 3 เครื่องให้บริษัท คำสั่งซื้อ {order} ต้องการใบกำกับภาษีเต็มรูปในนามบริษัท ต้องแจ้งข้อมูลอะไรบ้างคะ",
            ),
            (
                Who::Agent,
                "สวัสดีค่ะคุณ{name} รบกวนแจ้งชื่อบริษัท ที่อยู่ตามที่จดทะเบียน เลขประจำตัวผู้เสียภาษี 13 หลัก และระบุว่าเป็นสำนักงานใหญ่หรือสาขาค่ะ ทางเราจะออกใบกำกับภาษีและส่งให้ทางอีเมลภายใน 3 วันทำการ ส่วนฉบับจริงจะแนบไปพร้อมสินค้าค่ะ\n\n{agent}",
            ),
            (
                Who::Customer,
                "บริษัท ไทยเทรดดิ้ง จำกัด สำนักงานใหญ่ เลขผู้เสียภาษี 0105561234567 ที่อยู่ 55 ถนนพระราม 9 แขวงห้วยขวาง เขตห้วยขวาง กรุงเทพฯ 10310 ค่ะ",
            ),
            (
                Who::Agent,
                "ได้รับข้อมูลเรียบร้อยแล้วค่ะคุณ{name} จะส่งใบกำกับภาษีให้ทางอีเมลโดยเร็วที่สุดนะคะ",
            ),
        ],
    },
    Conversation {
        lang: "th",
        category: "technical",
        priority: "normal",
        subject: "แอปเด้งออกตอนเปิด",
        turns: &[
            (
                Who::Customer,
                "อัปเดตแอปแล้วเปิดไม่ได้เลยครับ เด้งออกทุกครั้ง ใช้ Samsung A52 ครับ",
            ),
            (
                Who::Note,
                "เป็นปัญหาที่ทราบแล้วในเวอร์ชัน 4.8.0 บน Android 13 ทีมพัฒนากำลังแก้ไข คาดว่าจะออกเวอร์ชันแก้ไขภายในสัปดาห์นี้ วิธีแก้ชั่วคราวคือล้างแคช",
            ),
            (
                Who::Agent,
                "สวัสดีค่ะคุณ{name} ขออภัยในความไม่สะดวกค่ะ ทีมงานทราบปัญหานี้แล้วและกำลังเร่งแก้ไข คาดว่าจะมีอัปเดตใหม่ภายในสัปดาห์นี้ค่ะ ระหว่างนี้คุณ{name}ลองล้างแคชของแอปในเมนูตั้งค่าของโทรศัพท์ หรือสั่งซื้อผ่านหน้าเว็บไซต์ได้ตามปกตินะคะ\n\n{agent}",
            ),
            (Who::Customer, "ล้างแคชแล้วใช้ได้แล้วครับ ขอบคุณครับ"),
        ],
    },
    Conversation {
        lang: "th",
        category: "technical",
        priority: "high",
        subject: "กดชำระเงินแล้วหน้าเว็บค้าง",
        turns: &[
            (
                Who::Customer,
                "กดชำระเงินแล้วหน้าเว็บค้างอยู่แบบนั้นเลยค่ะ ไม่รู้ว่าจ่ายไปแล้วหรือยัง ลองไปสามรอบแล้ว กลัวโดนตัดเงินซ้ำ",
            ),
            (
                Who::Agent,
                "สวัสดีค่ะคุณ{name} ตรวจสอบแล้วยังไม่มีรายการชำระเงินเข้ามาในระบบ และไม่มีการตัดเงินจากบัตรของคุณ{name}ค่ะ ช่วงบ่ายวันนี้ระบบชำระเงินขัดข้องชั่วคราว ตอนนี้แก้ไขเรียบร้อยแล้ว รบกวนลองชำระเงินอีกครั้งได้เลยค่ะ\n\n{agent}",
            ),
            (Who::Customer, "จ่ายผ่านแล้วค่ะ ขอบคุณนะคะ"),
        ],
    },
    Conversation {
        lang: "th",
        category: "technical",
        priority: "low",
        subject: "หูฟังเชื่อมบลูทูธไม่ได้",
        turns: &[(
            Who::Customer,
            "หูฟังไร้สายที่ซื้อไปเชื่อมกับไอโฟนไม่ได้ครับ ไฟกะพริบสีแดงอย่างเดียว ต้องทำยังไงครับ",
        )],
    },
    Conversation {
        lang: "th",
        category: "account",
        priority: "high",
        subject: "เข้าสู่ระบบไม่ได้ ไม่ได้รับ OTP",
        turns: &[
            (
                Who::Customer,
                "เข้าสู่ระบบไม่ได้ค่ะ กดขอ OTP ไปหลายรอบแล้วไม่มี SMS เข้ามาเลย",
            ),
            (
                Who::Agent,
                "สวัสดีค่ะคุณ{name} เบื้องต้นรบกวนตรวจสอบว่าเบอร์ที่ใช้สมัครยังเป็นเบอร์เดิมอยู่หรือไม่ และลองเปิดแล้วปิดโหมดเครื่องบินหนึ่งครั้งนะคะ หากยังไม่ได้รับ สามารถเลือกรับรหัส OTP ทางอีเมลแทนได้ที่หน้าเข้าสู่ระบบค่ะ\n\n{agent}",
            ),
            (Who::Customer, "รับทางอีเมลได้แล้วค่ะ ขอบคุณค่ะ"),
        ],
    },
    Conversation {
        lang: "th",
        category: "account",
        priority: "low",
        subject: "ต้องการลบบัญชีผู้ใช้",
        turns: &[
            (
                Who::Customer,
                "สวัสดีครับ ต้องการลบบัญชีและข้อมูลส่วนตัวทั้งหมดครับ ทำได้ไหมครับ",
            ),
            (
                Who::Agent,
                "สวัสดีครับคุณ{name} ทำได้ครับ ตามพระราชบัญญัติคุ้มครองข้อมูลส่วนบุคคล ทางเราจะลบบัญชีและข้อมูลส่วนบุคคลของคุณ{name}ภายใน 30 วัน ยกเว้นข้อมูลที่ต้องเก็บไว้ตามกฎหมายภาษีครับ หลังลบแล้วคะแนนสะสมและคูปองทั้งหมดจะหายไป ยืนยันให้ดำเนินการต่อไหมครับ\n\n{agent}",
            ),
            (Who::Customer, "ยืนยันครับ"),
        ],
    },
    Conversation {
        lang: "th",
        category: "account",
        priority: "urgent",
        subject: "บัญชีโดนแฮก มีคนสั่งของ!!",
        turns: &[
            (
                Who::Customer,
                "บัญชีโดนแฮกค่ะ!! มีคนเข้ามาเปลี่ยนที่อยู่แล้วสั่งไอโฟนไปส่งที่อื่น ใช้คะแนนสะสมของเราไปหมดเลย ช่วยด่วนเลยค่ะ",
            ),
            (
                Who::Note,
                "ระงับคำสั่งซื้อ {order} ก่อนส่งออกจากคลังได้ทัน บังคับออกจากระบบทุกอุปกรณ์ รีเซ็ตรหัสผ่าน คืนคะแนนสะสม และส่งเรื่องให้ทีมความปลอดภัยตรวจสอบแล้ว",
            ),
            (
                Who::Agent,
                "สวัสดีค่ะคุณ{name} ทางเราได้ยกเลิกคำสั่งซื้อ {order} ก่อนสินค้าออกจากคลังได้ทันค่ะ และได้ออกจากระบบในทุกอุปกรณ์พร้อมระงับรหัสผ่านเดิมแล้ว รบกวนคุณ{name}ตั้งรหัสผ่านใหม่ผ่านลิงก์ที่ส่งไปทางอีเมล และเปิดใช้การยืนยันตัวตนสองขั้นตอนด้วยนะคะ ส่วนคะแนนสะสมจะคืนเข้าบัญชีภายใน 24 ชั่วโมงค่ะ\n\n{agent}",
            ),
            (Who::Customer, "ขอบคุณมากค่ะ ตกใจมากเลย"),
        ],
    },
    Conversation {
        lang: "th",
        category: "product",
        priority: "high",
        subject: "พัดลมเสียหลังใช้ได้อาทิตย์เดียว",
        turns: &[
            (
                Who::Customer,
                "ซื้อพัดลมตั้งพื้นไปใช้ได้อาทิตย์เดียวเสียแล้วครับ เปิดไม่ติด มีกลิ่นไหม้ด้วย แบบนี้ไม่ไหวนะครับ",
            ),
            (
                Who::Note,
                "รุ่น FN-1620 ล็อตเดือนนี้มีเคสคล้ายกันอีก 2 เคส แจ้งทีมจัดซื้อให้ตรวจสอบล็อตกับซัพพลายเออร์แล้ว",
            ),
            (
                Who::Agent,
                "สวัสดีครับคุณ{name} ขออภัยเป็นอย่างยิ่งครับ เพื่อความปลอดภัยรบกวนถอดปลั๊กและงดใช้งานพัดลมตัวนี้ก่อนนะครับ สินค้ายังอยู่ในระยะเปลี่ยนสินค้าภายใน 7 วันแรก ทางเราจะเปลี่ยนเครื่องใหม่ให้ทันที โดยพนักงานจะนำเครื่องใหม่ไปส่งและรับเครื่องเดิมกลับในวันเดียวกันครับ\n\n{agent}",
            ),
            (Who::Customer, "โอเคครับ ขอบคุณครับ"),
        ],
    },
    Conversation {
        lang: "th",
        category: "product",
        priority: "normal",
        subject: "สอบถามการรับประกันหม้อทอดไร้น้ำมัน",
        turns: &[
            (
                Who::Customer,
                "หม้อทอดไร้น้ำมันที่ซื้อไปเมื่อ 5 เดือนก่อน ตั้งเวลาไม่ได้แล้วค่ะ ยังอยู่ในประกันไหมคะ ต้องส่งไปที่ไหน",
            ),
            (
                Who::Agent,
                "สวัสดีค่ะคุณ{name} สินค้ารุ่นนี้รับประกัน 1 ปีค่ะ จึงยังอยู่ในระยะประกัน คุณ{name}สามารถนำเครื่องพร้อมใบเสร็จไปที่ศูนย์บริการใกล้บ้าน หรือให้ทางเราเรียกขนส่งไปรับสินค้าถึงบ้านฟรีก็ได้ค่ะ สะดวกแบบไหนคะ\n\n{agent}",
            ),
            (Who::Customer, "ให้มารับที่บ้านค่ะ"),
            (
                Who::Agent,
                "รับทราบค่ะ ขนส่งจะติดต่อคุณ{name}เพื่อนัดวันรับสินค้าภายใน 2 วันทำการนะคะ",
            ),
        ],
    },
    Conversation {
        lang: "th",
        category: "product",
        priority: "low",
        subject: "ห่อของขวัญได้ไหมคะ",
        turns: &[
            (
                Who::Customer,
                "สวัสดีค่ะ อยากให้ห่อของขวัญพร้อมการ์ดอวยพรวันเกิดให้ด้วยได้ไหมคะ คำสั่งซื้อ {order} จะส่งให้แฟนค่ะ",
            ),
            (
                Who::Agent,
                "สวัสดีค่ะคุณ{name} ได้เลยค่ะ บริการห่อของขวัญมีค่าบริการ 39 บาท รวมการ์ดอวยพรแล้ว รบกวนแจ้งข้อความที่ต้องการเขียนลงในการ์ดได้เลยนะคะ ทางเราจะไม่ใส่ใบเสร็จไว้ในกล่องค่ะ\n\n{agent}",
            ),
            (Who::Customer, "เขียนว่า “สุขสันต์วันเกิดนะ รักเสมอ” ค่ะ ขอบคุณมากค่ะ"),
        ],
    },
];

/// Russian customer names, "First Last".
pub static CUSTOMER_NAMES_RU: &[&str] = &[
    "Алексей Иванов",
    "Мария Петрова",
    "Дмитрий Соколов",
    "Ольга Кузнецова",
    "Сергей Морозов",
    "Екатерина Новикова",
    "Андрей Лебедев",
    "Наталья Фёдорова",
    "Михаил Попов",
    "Анастасия Волкова",
    "Иван Смирнов",
    "Татьяна Васильева",
    "Артём Михайлов",
    "Юлия Зайцева",
    "Павел Белов",
    "Светлана Орлова",
    "Никита Ковалёв",
    "Ирина Егорова",
    "Роман Степанов",
    "Полина Никитина",
    "Владимир Макаров",
    "Ксения Андреева",
    "Денис Павлов",
    "Алёна Семёнова",
    "Егор Григорьев",
];

/// English customer names, "First Last".
pub static CUSTOMER_NAMES_EN: &[&str] = &[
    "Emma Thompson",
    "Oliver Hughes",
    "Olivia Martin",
    "Jack Robinson",
    "Amelia Clarke",
    "Harry Wright",
    "Isla Green",
    "Noah Patel",
    "Ava Mitchell",
    "Liam O'Connor",
    "Mia Turner",
    "Ethan Brooks",
    "Chloe Evans",
    "Lucas Hall",
    "Grace Wood",
    "Daniel Kim",
    "Sophia Reyes",
    "Ryan Murphy",
    "Hannah Scott",
    "Marcus Johnson",
];

/// Thai customer names, first name + surname in Thai script.
pub static CUSTOMER_NAMES_TH: &[&str] = &[
    "สมชาย ใจดี",
    "สุดารัตน์ แสงทอง",
    "ณัฐพล ศรีสุข",
    "พิมพ์ชนก วงศ์สวัสดิ์",
    "ธนวัฒน์ บุญมา",
    "กานต์ธิดา ทองดี",
    "อนุชา พรหมมา",
    "ศิริพร จันทร์เพ็ญ",
    "วรวุฒิ แก้วกาญจนา",
    "ปวีณา สุขประเสริฐ",
    "ชยพล รัตนวงศ์",
    "นภัสสร อินทรสุวรรณ",
    "กิตติพงษ์ เพชรรัตน์",
    "อรอุมา ศรีวงศ์",
    "ภูริช ธนากุล",
    "จิราพร คำแสน",
    "ธีรภัทร สมบูรณ์ชัย",
    "ขวัญใจ บุญเรือง",
    "ปิยะพงษ์ ทองคำ",
    "มณีรัตน์ เจริญผล",
];

/// Support agents: (full name, language "ru"/"en"/"th").
pub static AGENT_NAMES: &[(&str, &str)] = &[
    ("Анна Белякова", "ru"),
    ("Максим Орехов", "ru"),
    ("Вера Соловьёва", "ru"),
    ("Emily Carter", "en"),
    ("James Walker", "en"),
    ("Priya Shah", "en"),
    ("ปิยะนุช ศรีสวัสดิ์", "th"),
    ("ธนากร วงศ์ไทย", "th"),
    ("กมลวรรณ แก้วมณี", "th"),
];
